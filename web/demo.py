"""Demo data for the embedded default: Sichuan sink projects in all five zones, from registration to sale.

Projects are registered, reviewed, monitored, verified and issued through the same domain services the
API uses, so the ledger's issue entries come from methodology calculations. The organisations, people,
locations and measurements are fictional (marked 示例; coordinates are approximate county seats); the
places, zones and project types follow the provincial plan, and the default parameters are the cited
rows of ``offsets/data/parameters``. Loading the demo into a registry that has projects does nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.users import create_user
from ledger.accounts import BUFFER, RETAIL, ensure_registry_accounts
from ledger.commands import Beneficiary, Cancel, Retire, Selection, Transfer
from ledger.cosignature import Cosigner
from ledger.keys import read_cosigner_file, write_key_file
from ledger.models import Holding
from ledger.service import LedgerService
from marketplace.lots import list_lot
from marketplace.reversals import record_compensation
from offsets import regions
from offsets.actors import Actor
from offsets.buffer_policy import default_buffer_percent
from offsets.issuance import issue_for_report
from offsets.lifecycle import ProjectStatus, Role
from offsets.models import Issuance, Organisation, Project
from offsets.monitoring import submit_report, verify_report
from offsets.projects import Beneficiary as BenefitShare
from offsets.projects import (
    NewProject,
    change_status,
    create_project,
    register_organisation,
    review_qualification,
)
from web.demo_orders import place_demo_orders

T = 1_000  # kilograms per tonne
LOT_PRICES_FEN_PER_T = (5_000, 5_500, 6_000, 6_500, 7_000)
"""Demo lot prices, 50 to 70 元 per tonne (fictional, in the range of China's forestry offset trades)."""


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


METHODOLOGY_BY_TYPE = {
    "afforestation": "AR-CM-001-V01",
    "forest_management": "AR-CM-003-V01",
    "bamboo_afforestation": "AR-CM-002-V01",
    "bamboo_management": "AR-CM-005-V01",
    "grassland": "TANHUI-GRASSLAND-SOC-V01",
    "wetland": "TANHUI-WETLAND-STOCK-V01",
}
SEATS = {
    "LS01": (101.51, 27.43),
    "PZ01": (102.11, 26.88),
    "AB01": (102.54, 32.79),
    "GZ01": (101.96, 30.05),
    "GY01": (105.24, 32.58),
    "BZ01": (106.84, 32.35),
    "YB01": (104.92, 28.58),
    "LZ01": (105.44, 28.17),
    "CD01": (103.67, 30.63),
    "MY01": (104.53, 32.41),
    "YA01": (102.81, 30.37),
    "AB02": (102.96, 33.58),
}
TREE_PARAMETERS = {
    "basic_wood_density": {
        "value": "0.40",
        "unit": "t d.m./m3",
        "source": "IPCC 2006 GL Vol.4 Table 4.14, Abies (tree_species.csv ipcc_t414_abies)",
    },
    "bef": {
        "value": "1.15",
        "unit": "dimensionless",
        "source": "CDM AR-TOOL14 v04.2 default (tree_species.csv cdm_artool14_tree_default)",
    },
    "root_shoot_ratio": {
        "value": "0.40",
        "unit": "dimensionless",
        "source": "IPCC 2006 GL Vol.4 Table 4.4 (tree_species.csv ipcc_t44_temperate_conifer_agb_lt50)",
    },
    "carbon_fraction": {
        "value": "0.47",
        "unit": "t C/t d.m.",
        "source": "CDM AR-TOOL14 v04.2 default (tree_species.csv cdm_artool14_tree_default)",
    },
}
DEMO_SOURCE = "示例监测数据（演示用，非实测）"
PERIODS = tuple(range(2019, 2024))


DEMO_PASSWORD = "tanhui-demo-2026"  # noqa: S105  (the documented demo password, never a real one)
"""The demo users' password (README): the demo registry is for trying the product on 127.0.0.1 only."""
DEMO_USERS = (
    ("admin@demo.tanhui.cn", "登记簿管理员（示例）", "registry_admin"),
    ("buyer@demo.tanhui.cn", "攀西钢铁采购员（示例）", "enterprise_buyer"),
    ("events@demo.tanhui.cn", "会展公司活动经理（示例）", "event_organiser"),
    ("wang@demo.tanhui.cn", "王示例", "individual"),
)


def _demo_users(session: Session, registry_id: int, enterprise_id: int, organiser_id: int) -> None:
    organisation_of = {
        "registry_admin": registry_id,
        "enterprise_buyer": enterprise_id,
        "event_organiser": organiser_id,
        "individual": None,
    }
    for email, name, role in DEMO_USERS:
        create_user(
            session,
            email=email,
            display_name=name,
            password=DEMO_PASSWORD,
            role=role,
            organisation_id=organisation_of[role],
            now=datetime.now(UTC),
        )


def load_demo(service: LedgerService, seed: int = 20221, witness: DemoWitness | None = None) -> str:
    """Register, monitor, verify and issue the demo projects, then trade and retire some of their credits.

    ``witness``: where the demo witness keeps its key and takes pushed checkpoints (``make run`` serves
    it); without it, the demo witness cosigns the first checkpoint with a key kept nowhere.
    """
    rng = random.Random(seed)  # noqa: S311  (reproducible demo quantities, not security)
    with service.database.unit_of_work() as uow:
        session = uow.session
        if session.query(Project.id).first() is not None:
            return "demo data not loaded: the registry has projects already"
        ensure_registry_accounts(session)
        registry = register_organisation(session, "四川省林草碳汇登记簿（示例）", "registry")
        reviewer = Actor("审核员 王示例", Role.REVIEWER, registry.id)
        admin = Actor("登记簿管理员", Role.REGISTRY_ADMIN, registry.id)
        verifiers = [
            register_organisation(session, "川林核查中心（示例）", "verifier"),
            register_organisation(session, "西南碳汇审定核证有限公司（示例）", "verifier"),
        ]
        enterprises = {
            account: register_organisation(session, name, "enterprise") for account, name in ENTERPRISES
        }
        organiser = register_organisation(session, "成都示例会展有限公司（示例）", "organiser")
        enterprise_id, organiser_id = enterprises[ENTERPRISES[0][0]].id, organiser.id
        _demo_users(session, registry.id, enterprise_id, organiser_id)
        issued: list[tuple[str, str]] = []
        reversal_ids: list[int] = []
        for index, demo in enumerate(PROJECTS):
            owner = register_organisation(session, demo.owner_name, "project_owner")
            owner_actor = Actor(f"{demo.owner_name} 项目专员", Role.PROJECT_OWNER, owner.id)
            project = _register(session, demo, owner, owner_actor, reviewer)
            verifier = verifiers[index % 2]
            verifier_actor = Actor(f"{verifier.name} 核查员", Role.VERIFIER, verifier.id)
            for period_index, year in enumerate(PERIODS):
                loss = demo.code == "GZ01" and year == 2022
                report = submit_report(
                    session,
                    project,
                    owner_actor,
                    period_start=date(year, 1, 1),
                    period_end=date(year, 12, 31),
                    inputs=_inputs(demo.project_type, rng, period_index, loss=loss),
                )
                verify_report(
                    session, report, verifier_actor, verified=True, comments="现场核查与样地复测一致（示例）"
                )
                issuance = issue_for_report(session, service.sequencer, report.id, admin)
                if issuance.kind == "reversal":
                    reversal_ids.append(issuance.id)
                if issuance.batch_id is not None:
                    assert owner.ledger_account_id is not None
                    issued.append((issuance.batch_id, owner.ledger_account_id))
        uow.commit()
    transfers, retirements, cancels = _trade(service, rng, issued, enterprises, seed)
    # The GZ01 fire's compensation from the buffer is recorded after the trading, so that the demo shows
    # what buyers see after a loss: the project's lots suspended, its credits marked compensated by buffer
    # (the API records it in the issuance's own transaction: marketplace.reversals).
    with service.database.unit_of_work() as uow:
        for issuance_id in reversal_ids:
            reversal = uow.session.get(Issuance, issuance_id)
            assert reversal is not None
            record_compensation(uow.session, reversal, actor=admin.name, now=datetime.now(UTC))
        uow.commit()
    certificates = place_demo_orders(
        service,
        enterprise_id=enterprise_id,
        organiser_id=organiser_id,
        seed=seed,
    )
    size, note = service.sign_checkpoint()
    service.index_accounts()
    service.verify_and_record()  # as the nightly job would: the ledger page shows a verified ledger
    _witness(service, note, witness)
    return (
        f"demo registry: {len(PROJECTS)} projects in 5 zones, {len(issued)} issued batches, "
        f"{transfers} transfers, {retirements} retirements, {cancels} cancellations, "
        f"{certificates} certificates from orders; "
        f"checkpoint signed at size {size}; sign in at /login as {', '.join(u[0] for u in DEMO_USERS)} "
        f"with the password {DEMO_PASSWORD}"
    )


def _register(
    session: Any, demo: DemoProject, owner: Organisation, owner_actor: Actor, reviewer: Actor
) -> Project:
    county = regions.find_county(demo.county, prefecture=demo.prefecture)
    area_mu = Decimal(10_000 + 1_000 * (len(demo.code) + ord(demo.code[0]) % 17))
    project = create_project(
        session,
        NewProject(
            code=demo.code,
            name=demo.name,
            project_type=demo.project_type,
            county_code=county.code,
            area_mu=area_mu,
            location={"type": "Point", "coordinates": list(SEATS[demo.code])},
            methodology=METHODOLOGY_BY_TYPE[demo.project_type],
            crediting_start=date(2018, 1, 1),
            crediting_end=date(2047, 12, 31),
            expected_annual_removals_kg=5_000_000,
            standard="CCER" if demo.code in ("LS01", "GY01") else "provincial",
            contiguous_carbon_forest_mu=area_mu if demo.project_type == "afforestation" else None,
            beneficiaries=(
                BenefitShare(f"{demo.county}村集体经济组织（示例）", "collective", Decimal("30.00")),
                BenefitShare(f"{demo.county}林农户代表（示例）", "household", Decimal("10.00")),
            ),
        ),
        owner,
        owner_actor,
        buffer_percent_default=default_buffer_percent(demo.project_type),
    )
    change_status(session, project, ProjectStatus.SUBMITTED, owner_actor)
    change_status(session, project, ProjectStatus.UNDER_REVIEW, reviewer)
    review_qualification(
        session,
        project,
        reviewer,
        approved=True,
        reasons="主体资格、林权证明与实施能力齐备（示例）",
        documents=[
            {"title": "林权证（示例）", "reference": f"{demo.code}-LQ"},
            {"title": "项目设计文件（示例）"},
        ],
        capability="有专职林业技术人员与监测队伍（示例）",
    )
    return project


def _inputs(project_type: str, rng: random.Random, period: int, *, loss: bool) -> dict[str, Any]:
    """One year's measurements for a demo stratum; a loss year (fire) shows a falling stock."""
    common: dict[str, Any] = {
        "period_years": "1",
        "baseline": {"removals_t_co2e": "0", "source": "项目设计文件：基线碳汇量为零（示例）"},
        "uncertainty": {
            "relative_percent": str(rng.randrange(4, 9)),
            "confidence_level_percent": "90",
            "source": DEMO_SOURCE,
        },
    }
    if project_type != "afforestation":
        common["leakage"] = {"emissions_t_co2e": "0", "source": "项目设计文件：无泄漏活动（示例）"}
    area = str(rng.randrange(3_000, 9_000))
    grow = Decimal(rng.randrange(30, 60)) / 10
    start = Decimal(20) + grow * period
    end = start - grow / 2 if loss else start + grow
    if project_type in ("afforestation", "forest_management"):
        stratum: dict[str, Any] = {
            "species": "冷杉属",
            "area_mu": area,
            "volume_start_m3_per_ha": str(start),
            "volume_end_m3_per_ha": str(end),
            "source": DEMO_SOURCE,
            "parameters": TREE_PARAMETERS,
        }
    elif project_type in ("bamboo_afforestation", "bamboo_management"):
        stratum = {
            "species": "毛竹",
            "area_mu": area,
            "biomass_start_t_dm_per_ha": str(start),
            "biomass_end_t_dm_per_ha": str(end),
            "source": DEMO_SOURCE,
            "parameters": {name: TREE_PARAMETERS[name] for name in ("root_shoot_ratio", "carbon_fraction")},
        }
    elif project_type == "grassland":
        stratum = {
            "area_mu": area,
            "soil_carbon_start_t_c_per_ha": str(start + 40),
            "soil_carbon_end_t_c_per_ha": str(end + 40),
            "soil_depth_cm": "30",
            "source": DEMO_SOURCE,
        }
    else:
        common["project_emissions"] = {"non_co2_t_co2e": "0", "source": DEMO_SOURCE}
        stratum = {
            "area_mu": area,
            "soil_carbon_start_t_c_per_ha": str(start + 80),
            "soil_carbon_end_t_c_per_ha": str(end + 80),
            "biomass_carbon_start_t_c_per_ha": "5",
            "biomass_carbon_end_t_c_per_ha": "5",
            "soil_depth_cm": "30",
            "source": DEMO_SOURCE,
        }
    return {**common, "strata": [stratum]}


def _trade(
    service: LedgerService,
    rng: random.Random,
    issued: list[tuple[str, str]],
    enterprises: dict[str, Organisation],
    seed: int,
) -> tuple[int, int, int]:
    """Lots into retail inventory, sales to enterprises, retirements of every reason, buffer cancellations."""
    accounts = {key: org.ledger_account_id for key, org in enterprises.items()}
    transfers: list[Transfer] = []
    lots: list[tuple[str, int, int]] = []
    for index, (batch, owner) in enumerate(issued):
        # Every batch is listed as a lot (a transfer into RETAIL), so the shop has stock in every zone.
        lots.append(
            (batch, rng.randrange(20, 60) * T, LOT_PRICES_FEN_PER_T[index % len(LOT_PRICES_FEN_PER_T)])
        )
        if index % 2 == 0:
            enterprise = accounts[ENTERPRISES[index % len(ENTERPRISES)][0]]
            assert enterprise is not None
            transfers.append(
                Transfer(
                    f"demo-{seed}:sale:{batch}",
                    owner,
                    enterprise,
                    Selection(quantity_kg=rng.randrange(20, 60) * T, batches=(batch,)),
                    memo="履约购买",
                )
            )
    with service.database.unit_of_work() as uow:
        for batch, quantity_kg, price_fen_per_t in lots:
            list_lot(
                uow.session,
                service.sequencer,
                lot_id=f"L-{batch}",
                batch_id=batch,
                quantity_kg=quantity_kg,
                price_fen_per_t=price_fen_per_t,
                at=datetime.now(UTC),
            )
        uow.commit()
    service.append(transfers)
    retirements: list[Retire] = []
    for index, (batch, _) in enumerate(issued):
        if index % 2 == 0:
            key, name = ENTERPRISES[index % len(ENTERPRISES)]
            account = accounts[key]
            assert account is not None
            retirements.append(
                Retire(
                    f"demo-{seed}:comply:{batch}",
                    account,
                    Selection(quantity_kg=rng.randrange(5, 15) * T, batches=(batch,)),
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
                    RETAIL,
                    Selection(quantity_kg=rng.randrange(2, 8) * T, batches=(batch,)),
                    Beneficiary(event, public=True),
                    "event",
                    f"{event} 碳中和",
                )
            )
        person = PEOPLE[index % len(PEOPLE)]
        retirements.append(
            Retire(
                f"demo-{seed}:micro:{batch}",
                RETAIL,
                Selection(quantity_kg=rng.randrange(1, 3_000), batches=(batch,)),
                Beneficiary(person, public=index % 3 == 0),
                "gift" if index % 5 == 0 else "personal_footprint",
                "个人年度碳足迹抵消",
            )
        )
    service.append(retirements)
    # The GZ01 fire's reversal has drawn on the buffer already: corrections come from what it still holds.
    with service.database.reading() as session:
        in_buffer = set(session.scalars(select(Holding.batch_id).where(Holding.account_id == BUFFER)))
    corrections = [batch for batch, _ in issued if batch in in_buffer][:55]
    cancels = [
        Cancel(
            f"demo-{seed}:correction:{batch}",
            BUFFER,
            Selection(quantity_kg=rng.randrange(1, 20), batches=(batch,)),
            "核查更正：缓冲池注销（示例）",
        )
        for batch in corrections
    ]
    service.append(cancels)
    return len(lots) + len(transfers), len(retirements), len(cancels) + 1


DEMO_WITNESS = "witness.demo.tanhui.example"
DEMO_WITNESS_KEY_FILE = "demo-witness.key"
"""In the instance folder, with ``tanhui demo --witness-url``."""


@dataclass(frozen=True)
class DemoWitness:
    """A demo witness that lives on: its cosigning key, and the address its tlog-witness service takes
    pushed checkpoints at (``tanhui witness serve``, which ``make run`` starts)."""

    cosigner: Cosigner
    url: str

    @classmethod
    def kept_in(cls, key_file: Path, url: str) -> DemoWitness:
        """The witness whose key is in ``key_file``, created there (owner-only) if it is not."""
        if key_file.exists():
            return cls(read_cosigner_file(key_file), url)
        cosigner = Cosigner.generate(DEMO_WITNESS)
        write_key_file(key_file, cosigner)
        return cls(cosigner, url)


def _witness(service: LedgerService, note: str, serving: DemoWitness | None) -> None:
    """A demo witness, listed by the registry, cosigns the demo's checkpoint as a witness would after
    following the log. With ``serving``, the registry also pushes every new checkpoint to it; without,
    its key lives only for this. A real witness keeps its own key on its own machine (tanhui keys
    cosigner)."""
    witness = serving.cosigner if serving is not None else Cosigner.generate(DEMO_WITNESS)
    service.add_witness(witness.vkey, serving.url if serving is not None else None)
    service.accept_cosignatures(witness.cosign_note(note, int(datetime.now(UTC).timestamp())))
