"""Reading partner-lead CSV files the way Excel writes them (crm_bridge.services.intake.csv_file)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from crm_bridge.errors import DataError
from crm_bridge.services.intake.csv_file import COLUMNS, Reject, read_lead_csv, rejects_path, write_rejects

HEADER = "partner_id,customer_name,email,phone,tax_id,amount,comment"


def write(tmp_path: Path, text: str, *, encoding: str = "utf-8", name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_comma_separated_utf8_file_is_read_row_by_row(tmp_path: Path) -> None:
    path = write(
        tmp_path, f"{HEADER}\n17,ООО Ромашка,ivan@example.ru,+79001234567,7707083893,1500.50,срочно\n"
    )
    parsed = read_lead_csv(path)
    assert (parsed.path, parsed.delimiter) == (path, ",")
    assert [r.row for r in parsed.rows] == [2]
    assert parsed.rows[0].values["customer_name"] == "ООО Ромашка"
    assert parsed.rows[0].values["amount"] == "1500.50"
    assert parsed.rejects == ()


def test_excel_semicolon_export_with_bom_and_crlf_and_shuffled_columns(tmp_path: Path) -> None:
    text = (
        "\ufeffCustomer_Name;Partner_ID;amount;email;phone;tax_id;comment\r\n"
        '"Иванов; и партнёры";17;1 500,50;;;;\r\n'
    )
    parsed = read_lead_csv(write(tmp_path, text))
    assert parsed.delimiter == ";"
    assert parsed.rows[0].values["partner_id"] == "17"
    assert parsed.rows[0].values["customer_name"] == "Иванов; и партнёры"


def test_extra_column_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown column\\(s\\) 'region'"):
        read_lead_csv(write(tmp_path, f"{HEADER},region\n"))


def test_missing_column_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing column\\(s\\) tax_id, comment"):
        read_lead_csv(write(tmp_path, "partner_id,customer_name,email,phone,amount\n"))


@pytest.mark.parametrize(("separator", "named"), [("\t", "tabs"), ("|", "'\\|'")])
def test_a_file_separated_by_another_character_gets_a_hint_about_the_separator(
    tmp_path: Path, separator: str, named: str
) -> None:
    text = (
        HEADER.replace(",", separator) + "\n" + separator.join(["17", "Ромашка", "", "", "", "", ""]) + "\n"
    )
    with pytest.raises(
        DataError, match=f"the columns are separated by {named}; save the file with ',' or ';'"
    ):
        read_lead_csv(write(tmp_path, text))


def test_repeated_column_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="repeated column\\(s\\) email"):
        read_lead_csv(write(tmp_path, f"{HEADER},email\n"))


def test_windows_1251_file_is_refused_with_a_hint_to_save_as_utf8(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n17,Ромашка,,,,,\n", encoding="cp1251")
    with pytest.raises(DataError, match="not UTF-8 text \\(first bad byte on line 2\\).*CSV UTF-8") as err:
        read_lead_csv(path)
    assert err.value.where == str(path)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="the first row must be the header"):
        read_lead_csv(write(tmp_path, ""))


def test_missing_file_is_a_data_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read .*nope.csv"):
        read_lead_csv(tmp_path / "nope.csv")


def test_row_with_wrong_number_of_values_is_rejected_and_the_others_go_through(tmp_path: Path) -> None:
    text = f"{HEADER}\n17,A,a@x.ru,,,,\n17,B,b@x.ru\n\n,,,\n17,C,c@x.ru,,,,\n,,,,,,\n"
    parsed = read_lead_csv(write(tmp_path, text))
    assert [r.row for r in parsed.rows] == [2, 6]
    assert [(r.row, r.reason) for r in parsed.rejects] == [(3, "has 3 values but the header has 7 columns")]
    assert parsed.rejects[0].values == dict.fromkeys(COLUMNS, "") | {
        "partner_id": "17",
        "customer_name": "B",
        "email": "b@x.ru",
    }


def test_rejects_file_lands_next_to_the_input_and_opens_in_excel(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n")
    rejects = [
        Reject(5, "email: not an e-mail address", {"partner_id": "17", "email": "nope"}),
        Reject(3, "partner_id: empty", {}),
    ]
    target = write_rejects(path, rejects, ";")
    assert target == rejects_path(path) == tmp_path / "leads.rejects.csv"
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0] == ["row", "reason", *COLUMNS]
    assert rows[1][:2] == ["3", "partner_id: empty"]
    assert rows[2][:5] == ["5", "email: not an e-mail address", "17", "", "nope"]


def test_a_clean_rerun_removes_the_stale_rejects_file(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n")
    write_rejects(path, [Reject(2, "bad", {})], ",")
    assert rejects_path(path).exists()
    assert write_rejects(path, [], ",") is None
    assert not rejects_path(path).exists()


EXPECTED = "(expected exactly: partner_id, customer_name, email, phone, tax_id, amount, comment)"


@pytest.mark.parametrize(
    ("header", "problems"),
    [
        (f"{HEADER},", "unknown column(s) (empty)"),  # the trailing separator some exports leave
        (f"{HEADER},region,city", "unknown column(s) 'region', 'city'"),
        (f"{HEADER},email,phone", "repeated column(s) email, phone"),
        (
            "partner_id,customer_name,e-mail,phone,tax_id,amount",
            "unknown column(s) 'e-mail'; missing column(s) email, comment",
        ),
        ("partner_id", "missing column(s) customer_name, email, phone, tax_id, amount, comment"),
        # spaces around the commas are no space-separated header
        ("partner_id , customer_name", "missing column(s) email, phone, tax_id, amount, comment"),
        # as many commas as semicolons: split at the commas
        (
            "partner_id,customer_name;email,phone;tax_id,amount;comment",
            "unknown column(s) 'customer_name;email', 'phone;tax_id', 'amount;comment'; "
            "missing column(s) customer_name, email, phone, tax_id, amount, comment",
        ),
    ],
)
def test_a_bad_header_is_refused_with_every_problem_and_the_expected_columns(
    tmp_path: Path, header: str, problems: str
) -> None:
    path = write(tmp_path, f"{header}\n17,Ромашка,a@x.ru,,,,\n")
    with pytest.raises(DataError) as refused:
        read_lead_csv(path)
    assert str(refused.value) == f"{path}: header row: {problems} {EXPECTED}"
    assert refused.value.where == str(path)


@pytest.mark.parametrize(
    "header",
    [
        "partner_id\tcustomer_name",  # two of our columns are enough to recognise the separator
        '"partner_id"\t"customer_name"\t"email"\t"phone"\t"tax_id"\t"amount"\t"comment"',
        "partner_id,customer_name\temail\tphone\ttax_id\tamount\tcomment",  # one comma among the tabs
    ],
)
def test_a_tab_separated_header_gets_the_separator_hint_naming_the_file(tmp_path: Path, header: str) -> None:
    path = write(tmp_path, f"{header}\n")
    with pytest.raises(DataError) as refused:
        read_lead_csv(path)
    assert str(refused.value) == (
        f"{path}: the columns are separated by tabs; save the file with ',' or ';' as the separator "
        "(in Excel: 'Save as' -> 'CSV UTF-8')"
    )
    assert refused.value.where == str(path)


def test_a_header_with_spaces_around_the_commas_is_read(tmp_path: Path) -> None:
    parsed = read_lead_csv(write(tmp_path, HEADER.replace(",", " , ") + "\n17 , Ромашка , a@x.ru , , , , \n"))
    assert (parsed.delimiter, [r.values["customer_name"] for r in parsed.rows]) == (",", ["Ромашка"])


def test_the_separator_is_taken_from_the_header_not_from_semicolons_in_the_comments(tmp_path: Path) -> None:
    text = f"{HEADER}\n17,A,a@x.ru,,,,позвонить; после обеда; спросить Ивана\n17,B,b@x.ru,,,,а; б; в; г\n"
    parsed = read_lead_csv(write(tmp_path, text))
    assert parsed.delimiter == ","
    assert [r.values["comment"] for r in parsed.rows] == [
        "позвонить; после обеда; спросить Ивана",
        "а; б; в; г",
    ]


def test_an_excel_for_mac_file_with_carriage_return_line_ends_is_read(tmp_path: Path) -> None:
    text = HEADER.replace(",", ";") + "\r17;A;a@x.ru;;;;\r17;B;b@x.ru;;;;\r"
    parsed = read_lead_csv(write(tmp_path, text))
    assert [(r.row, r.values["customer_name"]) for r in parsed.rows] == [(2, "A"), (3, "B")]


def test_a_comment_keeps_its_line_break_and_a_name_starting_with_quotes_is_read(tmp_path: Path) -> None:
    # '"Ромашка" ООО' unquoted is malformed CSV (Excel writes '"""Ромашка"" ООО"'): the reader is lenient,
    # drops the quotes and imports the row instead of refusing the whole file
    text = f'{HEADER}\r\n17,"Ромашка" ООО,a@x.ru,,,,"позвонить\r\nпосле обеда"\r\n'
    (row,) = read_lead_csv(write(tmp_path, text)).rows
    assert (row.values["customer_name"], row.values["comment"]) == ("Ромашка ООО", "позвонить\r\nпосле обеда")


@pytest.mark.parametrize(
    ("rows", "line"),
    [
        ([], 2),
        (["17,A,a@x.ru,,,,", "17,B,b@x.ru,,,,"], 4),
        (['17,A,a@x.ru,,,,"two', 'lines"'], 4),  # a row over two lines: the physical line is named
    ],
)
def test_a_value_too_long_for_any_csv_refuses_the_file_naming_its_line(
    tmp_path: Path, rows: list[str], line: int
) -> None:
    path = write(tmp_path, "\n".join([HEADER, *rows, "17," + "x" * 140_000 + ",,,,,"]) + "\n")
    with pytest.raises(DataError) as refused:
        read_lead_csv(path)
    assert str(refused.value) == (
        f"{path}: line {line}: cannot be read as CSV (field larger than field limit (131072)); "
        "is it the right file, saved as 'CSV UTF-8'?"
    )
    assert refused.value.where == str(path)


def test_an_unreadable_or_empty_file_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataError) as refused:
        read_lead_csv(missing)
    assert (str(refused.value), refused.value.where) == (
        f"{missing}: cannot read {missing}: No such file or directory",
        str(missing),
    )
    empty = write(tmp_path, "\n" + HEADER + "\n")
    with pytest.raises(DataError) as refused:
        read_lead_csv(empty)
    assert (str(refused.value), refused.value.where) == (
        f"{empty}: the file is empty or starts with a blank line; the first row must be the header",
        str(empty),
    )


@pytest.mark.parametrize(
    ("name", "rejects_name"),
    [("leads.csv", "leads.rejects.csv"), ("leads.txt", "leads.rejects.txt"), ("leads", "leads.rejects.csv")],
)
def test_the_rejects_file_is_named_after_the_input(tmp_path: Path, name: str, rejects_name: str) -> None:
    assert rejects_path(tmp_path / name) == tmp_path / rejects_name
