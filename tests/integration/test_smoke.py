from ledger.commands import Allocation, Beneficiary, Issue, Retire, Selection, Transfer


def test_an_issued_transferred_and_retired_batch_verifies(service):
    service.append([Issue("r1", "LS01", "2023", 1, (Allocation("OWN-A", 900), Allocation("BUFFER", 100)))])
    service.append([Transfer("r2", "OWN-A", "ENT-A", Selection(quantity_kg=300))])
    [retired] = service.append(
        [
            Retire(
                "r3",
                "ENT-A",
                Selection(quantity_kg=120),
                Beneficiary("企业甲", True),
                "compliance_period",
                "2025",
            )
        ]
    )
    assert retired.data["ranges"] == [
        {"batch": "LS01-2023-001", "start": 1, "end": 120, "serial": "SC-LS01-2023-001-1-120"}
    ]
    service.sign_checkpoint()
    report = service.verify()
    assert (report.size, report.closed_ranges) == (3, 1)
