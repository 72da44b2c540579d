"""Import CSV of the OSS mapping: a good file fills all four account maps, every bad line is named
with its number and why, and a file with any bad line changes nothing."""

from __future__ import annotations

import pytest

from engine.mapping import oss_csv
from engine.mapping.settings import IntegrationSettings, SalesAccounts, oss_fee_account

HEADER = "country,vat_rate,sales_account,shipping_account,fee_account,credit_account"


def bad_lines(text: str) -> list[str]:
    with pytest.raises(oss_csv.OssCsvError) as refused:
        oss_csv.parse(text)
    assert refused.value.code == "BAD_INPUT" and "nothing was saved" in refused.value.message
    return [str(b) for b in refused.value.lines]


def test_a_good_file_fills_the_sales_and_the_optional_accounts() -> None:
    text = f"{HEADER}\nDE,,3162,3169,6570,3171\nde,7,3163,,,3172\n\nFI,25.5,3166,,,\n"
    assert oss_csv.parse(text) == {
        "oss_accounts": {"DE": "3162", "DE 7": "3163", "FI 25.5": "3166"},
        "oss_shipping_accounts": {"DE": "3169"},
        "oss_fee_accounts": {"DE": "6570"},
        "oss_credit_accounts": {"DE": "3171", "DE 7": "3172"},
    }


def test_semicolons_as_excel_in_sweden_writes_them_and_a_bom_are_read() -> None:
    text = "\ufeff" + HEADER.replace(",", ";") + "\r\nFI;25,5;3166;;;\r\nDK;;3161;;6570;\r\n"
    parsed = oss_csv.parse(text)
    assert parsed["oss_accounts"] == {"FI 25.5": "3166", "DK": "3161"}
    assert parsed["oss_fee_accounts"] == {"DK": "6570"}


def test_every_bad_line_is_named_with_its_number_and_why() -> None:
    text = "\n".join(
        [
            HEADER,
            "SE,,3001,,,",  # 2: Sweden is no OSS country
            "XX,,3162,,,",  # 3: no EU country
            "DE,abc,3162,,,",  # 4: no VAT rate
            "DE,,3162,,,",  # 5: good
            "DE,,3163,,,",  # 6: DE twice
            "FR,,4000,12,,",  # 7: no sales account, no account at all
            "NL,,3164",  # 8: too few fields
            "IT,,,,,",  # 9: the sales account is required
            "AT,,3160,,65700,",  # 10: a fee account of five digits
        ]
    )
    assert bad_lines(text) == [
        "line 2: SE is not an OSS country: sales within Sweden take the Order Lines accounts",
        "line 3: 'XX' is not an EU country code (DE, FI, ...)",
        "line 4: 'abc' is not a VAT rate in percent, e.g. 7 or 25.5",
        "line 6: DE is already mapped on line 5",
        "line 7: sales_account: '4000' is not a sales account (3000–3999 in BAS)",
        "line 7: shipping_account: '12' is not a Fortnox account number (four digits, e.g. 3001)",
        "line 8: 3 fields, expected 6 (" + HEADER + ")",
        "line 9: sales_account is required",
        "line 10: fee_account: '65700' is not a Fortnox account number (four digits, e.g. 3001)",
    ]


def test_a_rate_written_two_ways_is_one_key() -> None:
    assert bad_lines(f"{HEADER}\nFI,25.5,3166,,,\nFI,25.50,3167,,,\n") == [
        "line 3: FI 25.5 is already mapped on line 2"
    ]


def test_the_header_must_come_first_and_an_empty_file_says_so() -> None:
    assert bad_lines("DE,,3162,,,\n") == [f"line 1: the first line must be the header {HEADER}"]
    assert bad_lines("\n \n") == [f"line 1: the file is empty; the first line must be the header {HEADER}"]


def test_export_writes_what_import_reads() -> None:
    sales = SalesAccounts(**oss_csv.parse(f"{HEADER}\nDE,7,3163,,,3172\nDE,,3162,3169,6570,\n"))
    text = oss_csv.export(sales)
    assert text.splitlines() == [HEADER, "DE,,3162,3169,6570,", "DE,7,3163,,,3172"]
    assert SalesAccounts(**oss_csv.parse(text)) == sales


def test_extra_accounts_need_the_countrys_sales_account_and_the_fee_account_is_found_by_rate() -> None:
    with pytest.raises(ValueError, match="DE: a shipping account needs an OSS sales account too"):
        SalesAccounts(oss_shipping_accounts={"DE": "3169"})
    settings = IntegrationSettings(
        sales_accounts=SalesAccounts(
            oss_accounts={"DE": "3162", "DE 7": "3163"}, oss_fee_accounts={"DE": "6570", "DE 7": "6571"}
        )
    )
    assert oss_fee_account(settings, "de") == "6570"
    assert oss_fee_account(settings, "DE", "7") == "6571"
    assert oss_fee_account(settings, "DE", "19") == "6570"
    assert oss_fee_account(settings, "FI") is None
