"""Units of azmigrate.hyperv: throttle rates (agent's binary Kbps/Mbps), link rates (bits), sizes, churn."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils import bandwidth


@pytest.mark.parametrize(("value", "expected"), [
    ("512 Kbps", 512 * 1024),          # Microsoft's Set-OBMachineSetting example: (512*1024)
    ("2048 Kbps", 2048 * 1024),
    ("100 Mbps", 100 * 1048576),
    ("1,023 Mbps", 1023 * 1048576),
    ("1 Gbps", 1073741824),
    ("1.5 Mbps", 1572864),
    (512, 512 * 1024),                 # a plain number is Kbps, as the MMC shows it
    ("512", 512 * 1024),
])
def test_parse_throttle_rate_uses_the_agents_binary_units(value, expected):
    assert bandwidth.parse_throttle_rate(value) == expected


def test_throttle_range_is_512_kbps_to_1023_mbps():
    assert bandwidth.THROTTLE_MIN_BPS == 524288
    assert bandwidth.THROTTLE_MAX_BPS == 1023 * 1048576
    assert bandwidth.check_throttle_rate(bandwidth.THROTTLE_MIN_BPS) == 524288
    with pytest.raises(ValueError, match=r"256 Kbps .* outside the allowed 512 Kbps to 1023 Mbps"):
        bandwidth.check_throttle_rate(bandwidth.parse_throttle_rate("256 Kbps"))
    with pytest.raises(ValueError, match="outside the allowed"):
        bandwidth.check_throttle_rate(bandwidth.parse_throttle_rate("1 Gbps"))


def test_throttle_and_link_spellings_refuse_each_other():
    with pytest.raises(ValueError, match="bit/s units are for link rates"):
        bandwidth.parse_throttle_rate("100 Mbit/s")
    with pytest.raises(ValueError, match="Kbps/Mbps are the throttle's units"):
        bandwidth.parse_link_rate("100 Mbps")


@pytest.mark.parametrize(("value", "expected"), [
    ("1 Gbit/s", 125_000_000.0),
    ("500 Mbit/s", 62_500_000.0),
    ("10 Gbit/s", 1_250_000_000.0),
    ("64 kbit/s", 8000.0),
    (8000, 1000.0),                    # plain number: bits per second
])
def test_parse_link_rate_is_decimal_bits(value, expected):
    assert bandwidth.parse_link_rate(value) == expected


def test_format_round_trips():
    assert bandwidth.format_throttle_rate(524288) == "512 Kbps"
    assert bandwidth.format_throttle_rate(2097152) == "2 Mbps"
    assert bandwidth.format_throttle_rate(1572864) == "1.5 Mbps"
    assert bandwidth.format_link_rate(125_000_000) == "1 Gbit/s"
    assert bandwidth.format_link_rate(62_500_000) == "500 Mbit/s"
    for text in ("512 Kbps", "3 Mbps", "1023 Mbps"):
        assert bandwidth.format_throttle_rate(bandwidth.parse_throttle_rate(text)) == text


@pytest.mark.parametrize(("value", "expected"), [
    ("127 GB", 136365211648),          # Hyper-V's default disk, as host_info reports it
    ("2 TB", 2 * 1024 ** 4),
    ("512 MiB", 512 * 1024 ** 2),
    ("1.5 TB", int(1.5 * 1024 ** 4)),
    (1000, 1000),
    ("0", 0),
])
def test_parse_size_is_binary_like_hyperv(value, expected):
    assert bandwidth.parse_size(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("5 MB/s", 5 * 1048576),
    ("40 GB/day", 40 * 1024 ** 3 / 86400),
    ("2 GB/h", 2 * 1024 ** 3 / 3600),
    (1024, 1024),
])
def test_parse_churn(value, expected):
    assert bandwidth.parse_churn(value) == pytest.approx(expected)


@pytest.mark.parametrize(("parser", "value", "message"), [
    (bandwidth.parse_size, "-5 GB", "is negative"),
    (bandwidth.parse_size, -1, "is negative"),
    (bandwidth.parse_churn, "-1 MB/s", "is negative"),
    (bandwidth.parse_size, "5 parsecs", "has unit 'parsecs'"),
    (bandwidth.parse_churn, "5 MB", "size per time"),
    (bandwidth.parse_size, True, "must be a number"),
    (bandwidth.parse_link_rate, "fast", "not a non-negative number"),
])
def test_bad_values_fail_with_a_message(parser, value, message):
    with pytest.raises(ValueError, match=message):
        parser(value)
