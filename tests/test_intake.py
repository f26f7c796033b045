"""New rows prepared in the run's terms: fills, levels, unseen levels, type drift."""

import numpy as np
import pandas as pd
import pytest

from seglab.config import DataConfig
from seglab.data import prepare_table
from seglab.errors import DataError
from seglab.intake import InputSchema

RUN = pd.DataFrame({"id": range(6), "spend": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
                    "member": [True, False, True, True, False, True],
                    "channel": ["web", "shop", "web", None, "web", "app"]})


@pytest.fixture
def schema() -> InputSchema:
    table = prepare_table(RUN, DataConfig(path="x", id_column="id"), source="run")
    return InputSchema.from_table(table, "id", list(table.features.columns))


def test_schema_records_the_run_decisions(schema):
    columns = {c.name: c for c in schema.columns}
    assert columns["spend"].fill == 4.0 and columns["member"].kind == "numeric"
    assert columns["channel"].levels == ["app", "shop", "web"] and columns["channel"].fill == "web"


def test_new_rows_are_filled_with_the_run_numbers_and_unseen_levels_counted(schema):
    new = pd.DataFrame({"id": [7, 8, 9], "spend": [np.inf, None, 3.0],
                        "member": ["true", "false", None], "channel": ["kiosk", None, "app"]})
    prepared = schema.prepare(new)
    frame = prepared.frame
    assert frame["spend"].tolist() == [4.0, 4.0, 3.0]
    assert frame["member"].tolist()[:2] == [1.0, 0.0]
    assert frame["channel=web"].tolist() == [0.0, 1.0, 0.0]
    assert frame["channel=app"].tolist() == [0.0, 0.0, 1.0]
    assert prepared.unseen_levels == {"channel": 1}


def test_missing_extra_and_drifted_columns(schema):
    assert schema.check_columns(["id", "spend", "member", "channel", "note"]) == ["note"]
    assert schema.known == ["channel", "id", "member", "spend"]
    with pytest.raises(DataError, match="column 'spend' is missing"):
        schema.check_columns(["id", "member", "channel"])
    with pytest.raises(DataError, match="column 'id' is missing"):
        schema.check_columns(["spend", "member", "channel"], require_id=True)
    drifted = pd.DataFrame({"id": [1, 2], "spend": ["a", "b"], "member": [1, 0],
                            "channel": ["web", "web"]})
    with pytest.raises(DataError, match="'spend': type drift"):
        schema.prepare(drifted)
    with pytest.raises(DataError, match="'channel': type drift"):
        schema.prepare(drifted.assign(spend=1.0, channel=[3, 4]))


def test_schema_round_trips_as_plain_data(schema):
    assert InputSchema.from_dict(schema.to_dict()) == schema
