"""An encounter judged once and remembered gives, at every other place, exactly the findings of
judging it there afresh: paths, labels, the spacing and capital letters of the texts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from ipg_validator.bundle.case_memo import Judged, Shape, judge_case
from ipg_validator.bundle.validate import Judge
from ipg_validator.content.index import ContentIndex
from ipg_validator.rules.case import CodedItem, EncounterCase
from ipg_validator.content.ruleset import RuleSet
from ipg_validator.core.systems import ICD10_UK, OPCS4

PROCEDURES = ["J12.3", "X65.3", "Y36.4", "Y53.4", "Y89.1", "Y79.3", "J12.4", "X65.4", "Z94.2"]
DIAGNOSES = ["C78.7", "C18.7", "C19X", "C20X", "Z85.0", "Z85.1", "C22.0"]
# Labels as ids make them: spaced, lower-case first, empty-looking, or holding what a token looks like.
LABELS = ["Encounter/enc-1", "the Encounter at Bundle.entry[1]", "Encounter/ a  b ", "Procedure/\x00L\x00", "Procedure/é", "x"]


@pytest.fixture(scope="module")
def rules(index: ContentIndex) -> RuleSet:
    return index.rule_sets[0]


@st.composite
def cases(draw: Any) -> EncounterCase:
    groups, procedures, diagnoses = [], [], []
    for n in range(draw(st.integers(0, 5))):
        path = f"Bundle.entry[{n + 2}].resource"
        codings = tuple(
            CodedItem(draw(st.sampled_from([OPCS4, None])), code, draw(st.sampled_from([None, "A title", "t\x00P0\x00"])),
                      f"{path}.code.coding[{j}]", path, "OPCS-4", draw(st.booleans()))
            for j, code in enumerate(draw(st.lists(st.sampled_from(PROCEDURES), min_size=1, max_size=3)))
        )
        procedures += codings
        groups.append((f"{path}.code", draw(st.sampled_from(LABELS)), codings))
    for n, code in enumerate(draw(st.lists(st.sampled_from(DIAGNOSES), max_size=3))):
        path = f"Bundle.entry[{n + 20}].resource"
        diagnoses.append(CodedItem(ICD10_UK, code, None, f"{path}.code.coding[0]", path, "ICD-10", draw(st.booleans())))
    has_encounter = draw(st.booleans())
    return EncounterCase(
        label=draw(st.sampled_from(LABELS)), expression="Bundle.entry[1].resource" if has_encounter else "Bundle",
        procedures=tuple(procedures), diagnoses=tuple(diagnoses), procedure_groups=tuple(groups),
        has_encounter=has_encounter, forced=draw(st.booleans()),
    )


MEMO: dict[Shape, Judged] = {}  # shared across examples, so later ones meet shapes judged elsewhere


@settings(max_examples=300)
@given(cases())
def test_remembered_findings_equal_fresh_ones(index: ContentIndex, rules: RuleSet, case: EncounterCase) -> None:
    judge = Judge(index, set())
    fresh = judge_case(rules, case, judge.member, judge.members, None)
    assert judge_case(rules, case, judge.member, judge.members, MEMO) == fresh
    assert judge_case(rules, case, judge.member, judge.members, MEMO) == fresh


def test_cases_with_the_same_codes_share_one_judgement(index: ContentIndex, rules: RuleSet) -> None:
    judge = Judge(index, set())
    memo: dict[Shape, Judged] = {}

    def at(n: int) -> EncounterCase:
        path = f"Bundle.entry[{n}].resource"
        item = CodedItem(OPCS4, "J12.3", None, f"{path}.code.coding[0]", path, "OPCS-4")
        return EncounterCase(label=f"Encounter/e{n}", expression=f"Bundle.entry[{n - 1}].resource", procedures=(item,),
                             procedure_groups=((f"{path}.code", f"Procedure/p{n}", (item,)),))

    first, second = judge_case(rules, at(5), judge.member, judge.members, memo), judge_case(rules, at(50), judge.member, judge.members, memo)
    assert len(memo) == 1
    assert second == judge_case(rules, at(50), judge.member, judge.members, None)
    assert first[1] and all(e.startswith(("Bundle.entry[4]", "Bundle.entry[5]")) for i in first[1] for e in i.expression)
    assert all(e.startswith(("Bundle.entry[49]", "Bundle.entry[50]")) for i in second[1] for e in i.expression)
