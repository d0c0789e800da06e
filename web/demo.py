"""Demo data for the embedded default: Sichuan sink projects in all five zones on the ledger.

The organisations and people are fictional (marked 示例); the places, zones and project types follow
the provincial plan (POLICY.zh.txt). Quantities are illustrative, not measured: real issuance goes
through methodologies, monitoring and verification. Request ids are fixed, so loading the demo twice
with the same seed appends nothing the second time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ledger.commands import Allocation, Beneficiary, Cancel, Issue, Retire, Selection, Transfer
from ledger.service import LedgerService

T = 1_000  # kilograms per tonne


@dataclass(frozen=True)
class DemoProject:
    code: str
    name: str
    zone: str
    prefecture: str
    county: str
    project_type: str
    owner: str
    owner_name: str
    buffer_percent: int


PROJECTS = (
    DemoProject(
        "LS01",
        "盐源县碳汇造林项目（示例）",
        "川西南",
        "凉山彝族自治州",
        "盐源县",
        "afforestation",
        "OWN-LS-YANYUAN",
        "盐源县林业合作社（示例）",
        15,
    ),
    DemoProject(
        "PZ01",
        "米易县森林经营碳汇项目（示例）",
        "川西南",
        "攀枝花市",
        "米易县",
        "forest_management",
        "OWN-PZ-MIYI",
        "米易县国有林场（示例）",
        10,
    ),
    DemoProject(
        "AB01",
        "红原县草地碳汇项目（示例）",
        "川西北",
        "阿坝藏族羌族自治州",
        "红原县",
        "grassland",
        "OWN-AB-HONGYUAN",
        "红原县牧民专业合作社（示例）",
        20,
    ),
    DemoProject(
        "GZ01",
        "康定市碳汇造林项目（示例）",
        "川西北",
        "甘孜藏族自治州",
        "康定市",
        "afforestation",
        "OWN-GZ-KANGDING",
        "康定市林草发展有限公司（示例）",
        15,
    ),
    DemoProject(
        "GY01",
        "青川县森林经营碳汇项目（示例）",
        "川东北",
        "广元市",
        "青川县",
        "forest_management",
        "OWN-GY-QINGCHUAN",
        "青川县林业合作社（示例）",
        10,
    ),
    DemoProject(
        "BZ01",
        "南江县碳汇造林项目（示例）",
        "川东北",
        "巴中市",
        "南江县",
        "afforestation",
        "OWN-BZ-NANJIANG",
        "南江县国有林场（示例）",
        15,
    ),
    DemoProject(
        "YB01",
        "长宁县竹林经营碳汇项目（示例）",
        "川南",
        "宜宾市",
        "长宁县",
        "bamboo_management",
        "OWN-YB-CHANGNING",
        "长宁县竹产业合作社（示例）",
        10,
    ),
    DemoProject(
        "LZ01",
        "叙永县竹子造林碳汇项目（示例）",
        "川南",
        "泸州市",
        "叙永县",
        "bamboo_afforestation",
        "OWN-LZ-XUYONG",
        "叙永县竹业合作社（示例）",
        10,
    ),
    DemoProject(
        "CD01",
        "崇州市森林经营碳汇项目（示例）",
        "川中",
        "成都市",
        "崇州市",
        "forest_management",
        "OWN-CD-CHONGZHOU",
        "崇州市林业投资有限公司（示例）",
        10,
    ),
    DemoProject(
        "MY01",
        "平武县碳汇造林项目（示例）",
        "川中",
        "绵阳市",
        "平武县",
        "afforestation",
        "OWN-MY-PINGWU",
        "平武县林业合作社（示例）",
        15,
    ),
    DemoProject(
        "YA01",
        "宝兴县森林经营碳汇项目（示例）",
        "川中",
        "雅安市",
        "宝兴县",
        "forest_management",
        "OWN-YA-BAOXING",
        "宝兴县国有林场（示例）",
        10,
    ),
    DemoProject(
        "AB02",
        "若尔盖县湿地碳汇项目（示例）",
        "川西北",
        "阿坝藏族羌族自治州",
        "若尔盖县",
        "wetland",
        "OWN-AB-ZOIGE",
        "若尔盖县湿地保护合作社（示例）",
        20,
    ),
)

ENTERPRISES = (
    ("ENT-PZ-STEEL", "攀西示例钢铁有限公司（示例）"),
    ("ENT-DY-CEMENT", "德阳示例水泥有限公司（示例）"),
    ("ENT-LS-POWER", "乐山示例电力有限公司（示例）"),
    ("ENT-CD-AIRLINE", "成都示例航空服务有限公司（示例）"),
    ("ENT-YB-LIQUOR", "宜宾示例酒业有限公司（示例）"),
    ("ENT-NC-CHEM", "南充示例化工有限公司（示例）"),
)

EVENTS = (
    "2025 成都国际示例马拉松",
    "2025 川西生态示例论坛",
    "2026 四川示例科技博览会",
    "2026 大熊猫示例文化节",
)
PEOPLE = ("张示例", "李示例", "王示例", "刘示例", "陈示例", "杨示例", "赵示例", "黄示例")
VINTAGES = ("2019", "2020", "2021", "2022", "2023")


def load_demo(service: LedgerService, seed: int = 20221) -> str:
    rng = random.Random(seed)  # noqa: S311  (reproducible demo quantities, not security)
    service.open_account("REGISTRY", "registry", "四川省林草碳汇登记簿")
    service.open_account("BUFFER", "buffer", "非持久性风险缓冲池")
    service.open_account("RETAIL", "retail", "碳汇交易市场零售库存")
    for project in PROJECTS:
        service.open_account(project.owner, "owner", project.owner_name)
    for account, name in ENTERPRISES:
        service.open_account(account, "enterprise", name)

    issues: list[Issue] = []
    for project in PROJECTS:
        for number_in_vintage, vintage in enumerate(VINTAGES, start=1):
            total_t = rng.randrange(2_000, 20_000)
            buffer_t = total_t * project.buffer_percent // 100
            issues.append(
                Issue(
                    request_id=f"demo-{seed}:issue:{project.code}-{vintage}",
                    project=project.code,
                    vintage=vintage,
                    number=number_in_vintage,
                    allocations=(
                        Allocation(project.owner, (total_t - buffer_t) * T),
                        Allocation("BUFFER", buffer_t * T),
                    ),
                    attributes={
                        "name": project.name,
                        "zone": project.zone,
                        "prefecture": project.prefecture,
                        "county": project.county,
                        "project_type": project.project_type,
                        "buffer_percent": project.buffer_percent,
                    },
                )
            )
    service.append(issues)

    batches = [(issue.batch_id, issue) for issue in issues]
    transfers: list[Transfer] = []
    for index, (batch, issue) in enumerate(batches):
        owner = issue.allocations[0].account
        lot_t = rng.randrange(200, 1_000)
        transfers.append(
            Transfer(
                f"demo-{seed}:lot:{batch}",
                owner,
                "RETAIL",
                Selection(quantity_kg=lot_t * T, batches=(batch,)),
                memo="上架零售碳汇（微碳汇）",
            )
        )
        if index % 2 == 0:
            enterprise = ENTERPRISES[index % len(ENTERPRISES)][0]
            transfers.append(
                Transfer(
                    f"demo-{seed}:sale:{batch}",
                    owner,
                    enterprise,
                    Selection(quantity_kg=rng.randrange(500, 1_500) * T, batches=(batch,)),
                    memo="履约购买",
                )
            )
    service.append(transfers)

    retirements: list[Retire] = []
    for index, (batch, _) in enumerate(batches):
        if index % 2 == 0:
            enterprise, name = ENTERPRISES[index % len(ENTERPRISES)]
            retirements.append(
                Retire(
                    f"demo-{seed}:comply:{batch}",
                    enterprise,
                    Selection(quantity_kg=rng.randrange(100, 500) * T, batches=(batch,)),
                    Beneficiary(name, public=True),
                    "compliance_period",
                    "2025 年度履约",
                )
            )
        elif index % 4 == 1:
            event = EVENTS[index % len(EVENTS)]
            retirements.append(
                Retire(
                    f"demo-{seed}:event:{batch}",
                    "RETAIL",
                    Selection(quantity_kg=rng.randrange(20, 120) * T, batches=(batch,)),
                    Beneficiary(event, public=True),
                    "event",
                    f"{event} 碳中和",
                )
            )
        person = PEOPLE[index % len(PEOPLE)]
        retirements.append(
            Retire(
                f"demo-{seed}:micro:{batch}",
                "RETAIL",
                Selection(quantity_kg=rng.randrange(1, 3_000), batches=(batch,)),
                Beneficiary(person, public=index % 3 == 0),
                "gift" if index % 5 == 0 else "personal_footprint",
                "个人年度碳足迹抵消",
            )
        )
    service.append(retirements)

    cancels = [
        Cancel(
            f"demo-{seed}:reversal:{batch}",
            "BUFFER",
            Selection(quantity_kg=rng.randrange(1, 50) * T, batches=(batch,)),
            f"{issue.attributes['county']} 林草火灾/采伐损失，由缓冲池注销补偿（示例）",
        )
        for batch, issue in batches[:55]
    ]
    service.append(cancels)
    size, _ = service.sign_checkpoint()
    return (
        f"demo ledger: {len(issues)} issues, {len(transfers)} transfers, {len(retirements)} retirements, "
        f"{len(cancels)} cancellations; checkpoint signed at size {size}"
    )
