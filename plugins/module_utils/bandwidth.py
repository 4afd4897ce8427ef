# -*- coding: utf-8 -*-
# Copyright: (c) 2025, azmigrate.hyperv developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Units of the collection: throttle rates, link rates, sizes and churn, all to bytes (per second).

This is the only place where unit spellings are turned into numbers. Everything else in the
collection works in bytes and bytes per second.

Two kinds of rate, spelt differently on purpose
-----------------------------------------------

**Throttle rates** (``parse_throttle_rate``) use the MARS agent's own units: ``Kbps`` and ``Mbps``,
read as **binary kilobytes / megabytes per second**:

* 1 Kbps = 1,024 bytes/s, 1 Mbps = 1,048,576 bytes/s, 1 Gbps = 1,073,741,824 bytes/s.
* Why: the product states its throttle range as "512 Kbps to 1,023 Mbps" (Azure Migrate docs, the
  MMC snap-in), KB 3056159 words the same range as "512 kilobytes per second", and every Microsoft
  example of ``Set-OBMachineSetting`` sets the 512 Kbps minimum as ``-WorkHourBandwidth (512*1024)``,
  i.e. the cmdlet takes bytes per second and "Kbps" means 1,024 of them. The collection follows the
  product, so a value typed from the MMC means the same thing here; despite the "bps", these are
  not bits.
* The valid range is ``THROTTLE_MIN_BPS`` (512 Kbps) to ``THROTTLE_MAX_BPS`` (1,023 Mbps).
* A plain number is Kbps (what the MMC's spin boxes show), unless the caller asks for the unit
  (``unit_required=True``), as the replication planner does.

**Link rates** (``parse_link_rate``) are network figures, the speed of the host's uplink or its
share of the WAN, in **decimal bits per second** as networks are sold and measured:

* spelt ``bit/s``: "1 Gbit/s", "500 Mbit/s", "10 kbit/s"; 1 Gbit/s = 10^9 bits/s = 125,000,000 bytes/s.
* A plain number is bits per second, unless the caller asks for the unit. Zero and negative rates
  are refused: a link that moves nothing is no link.
* "Mbps" is refused for a link rate and "Mbit/s" for a throttle rate, so the two can't be confused:
  "100 Mbps" as a throttle is 104,857,600 bytes/s, "100 Mbit/s" as a link is 12,500,000 bytes/s.

Sizes and churn
---------------

* ``parse_size``: "127 GB", "2 TB", "512 MiB" or a plain number of bytes. KB/MB/GB/TB/PB are binary
  (1 GB = 2^30 bytes), as Hyper-V and Windows show them: a new VM's default "127 GB" disk is
  136,365,211,648 bytes. KiB/MiB/GiB/TiB/PiB are accepted as the same units.
* ``parse_churn``: a write rate, "5 MB/s" (binary, like sizes), "40 GB/day", "2 GB/h", or a plain
  number of bytes per second (the "Write Bytes/sec" performance counter).
* With ``unit_required=True`` a bare number other than zero is refused, naming the units the value
  takes ("1024 B" and "1024 B/s" spell bytes): the planner reads nothing by guess.
"""

import math
import re

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
TIB = 1024 * GIB
PIB = 1024 * TIB

#: Lowest throttle rate the agent accepts: 512 Kbps, in bytes per second.
THROTTLE_MIN_BPS = 512 * KIB
#: Highest throttle rate the agent accepts: 1,023 Mbps, in bytes per second.
THROTTLE_MAX_BPS = 1023 * MIB

_THROTTLE_UNITS = {'kbps': KIB, 'mbps': MIB, 'gbps': GIB}
_LINK_UNITS = {'bit/s': 1, 'kbit/s': 10 ** 3, 'mbit/s': 10 ** 6, 'gbit/s': 10 ** 9, 'tbit/s': 10 ** 12}
_SIZE_UNITS = {
    'b': 1, 'bytes': 1,
    'kb': KIB, 'kib': KIB, 'mb': MIB, 'mib': MIB, 'gb': GIB, 'gib': GIB,
    'tb': TIB, 'tib': TIB, 'pb': PIB, 'pib': PIB,
}
_CHURN_PERIODS = {'s': 1, 'sec': 1, 'h': 3600, 'hour': 3600, 'd': 86400, 'day': 86400}

_QUANTITY = re.compile(r'^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([A-Za-z/]*)\s*$')


#: How each kind of value is spelt, for the messages that refuse a value.
THROTTLE_SPELLING = 'Kbps, Mbps or Gbps (the agent\'s binary units: 1 Kbps = 1,024 bytes/s), e.g. "512 Kbps", "100 Mbps"'
LINK_SPELLING = 'bit/s, kbit/s, Mbit/s, Gbit/s or Tbit/s (decimal bits per second), e.g. "1 Gbit/s", "100 Mbit/s"'
SIZE_SPELLING = 'B, KB, MB, GB, TB or PB (binary, as Hyper-V shows them; KiB ... PiB too), e.g. "127 GB"'
CHURN_SPELLING = 'a size per s, h or day, e.g. "5 MB/s", "2 GB/h", "40 GB/day" or "1024 B/s"'


def _split(value, what, positive=False):
    """(number, unit) from "12.5 Mbps" (thousands separators allowed); unit is lower case, '' if none.

    ``positive``: zero is refused too, and a negative value is told it must be above zero (not
    "zero or more", which would invite a zero that is refused next).
    """
    domain = 'must be above zero' if positive else 'is negative; it must be zero or more'
    if isinstance(value, bool):
        raise ValueError('%s must be a number or a string with a unit, got %r' % (what, value))
    if isinstance(value, (int, float)):
        if math.isnan(value) or not math.isfinite(value) and value > 0:
            raise ValueError('%s must be a finite number, got %r' % (what, value))
        if value < 0 or positive and value == 0:
            raise ValueError('%s %r %s' % (what, value, domain))
        return float(value), ''
    text = str(value).strip()
    if text.startswith('-'):
        raise ValueError('%s %r %s' % (what, value, domain))
    match = _QUANTITY.match(text.replace(',', '').replace('_', ''))
    if not match:
        raise ValueError('%s %r is not a non-negative number with an optional unit' % (what, value))
    number = float(match.group(1))
    if positive and number == 0:
        raise ValueError('%s %r %s' % (what, value, domain))
    return number, match.group(2).lower()


def _require_unit(number, unit, value, what, spelling):
    """Refuse a bare number (other than zero, which is zero in any unit) where a unit is meant."""
    if not unit and number != 0:
        raise ValueError('%s %r has no unit; give one of %s' % (what, value, spelling))


def _lookup(units, unit, value, what, hint):
    if unit not in units:
        raise ValueError('%s %r has unit %r; use one of %s%s' % (what, value, unit, ', '.join(sorted(units)), hint))
    return units[unit]


def parse_throttle_rate(value, unit_required=False):
    """Bytes per second from a throttle rate: "512 Kbps", "100 Mbps", "1 Gbps" or a number of Kbps.

    Kbps/Mbps/Gbps are binary kilo/mega/gigabytes per second (see the module docstring). The range
    is not checked here; see ``check_throttle_rate``. ``unit_required``: refuse a bare number, which
    could be meant as the MMC's Kbps or as Set-OBMachineSetting's bytes per second.
    """
    number, unit = _split(value, 'throttle rate')
    if unit_required:
        _require_unit(number, unit, value, 'throttle rate', THROTTLE_SPELLING)
    if not unit:
        return int(round(number * KIB))
    hint = ' (throttle rates use the agent\'s Kbps/Mbps; bit/s units are for link rates)'
    return int(round(number * _lookup(_THROTTLE_UNITS, unit, value, 'throttle rate', hint)))


def check_throttle_rate(bytes_per_s):
    """Raise ValueError unless the rate is within the agent's 512 Kbps - 1,023 Mbps range."""
    if not THROTTLE_MIN_BPS <= bytes_per_s <= THROTTLE_MAX_BPS:
        raise ValueError('throttle rate %s (%d bytes/s) is outside the allowed 512 Kbps to 1023 Mbps'
                         % (format_throttle_rate(bytes_per_s), bytes_per_s))
    return bytes_per_s


def format_throttle_rate(bytes_per_s):
    """The agent's spelling of a rate: "512 Kbps", "2 Mbps", "1.5 Mbps" (at most 2 decimals)."""
    if bytes_per_s >= MIB:
        return '%s Mbps' % _trim(bytes_per_s / MIB)
    return '%s Kbps' % _trim(bytes_per_s / KIB)


def parse_link_rate(value, unit_required=False):
    """Bytes per second from a link rate in bits: "1 Gbit/s", "500 Mbit/s" or a number of bits/s.

    A link moves something: zero and negative rates are refused. ``unit_required``: refuse a bare
    number, which could be meant as bits or as bytes per second.
    """
    number, unit = _split(value, 'link rate', positive=True)
    if unit_required:
        _require_unit(number, unit, value, 'link rate', LINK_SPELLING)
    if not unit:
        return number / 8.0
    hint = ' (link rates are bits per second, e.g. "1 Gbit/s"; Kbps/Mbps are the throttle\'s units)'
    return number * _lookup(_LINK_UNITS, unit, value, 'link rate', hint) / 8.0


def format_link_rate(bytes_per_s):
    """A link rate in bits: "1 Gbit/s", "500 Mbit/s", "64 kbit/s"."""
    bits = bytes_per_s * 8.0
    for unit, scale in (('Gbit/s', 10 ** 9), ('Mbit/s', 10 ** 6), ('kbit/s', 10 ** 3)):
        if bits >= scale:
            return '%s %s' % (_trim(bits / scale), unit)
    return '%s bit/s' % _trim(bits)


def parse_size(value, unit_required=False):
    """Bytes from "127 GB", "2 TiB", "512 MB" (binary units) or a plain number of bytes.

    ``unit_required``: refuse a bare number other than zero ("127" is rarely meant as 127 bytes;
    "127 B" is).
    """
    number, unit = _split(value, 'size')
    if unit_required:
        _require_unit(number, unit, value, 'size', SIZE_SPELLING)
    if not unit:
        return int(round(number))
    return int(round(number * _lookup(_SIZE_UNITS, unit, value, 'size', '')))


def format_size(nbytes):
    """Binary size as Windows shows it: "127 GB", "1.5 TB", "800 MB"."""
    for unit, scale in (('PB', PIB), ('TB', TIB), ('GB', GIB), ('MB', MIB), ('KB', KIB)):
        if abs(nbytes) >= scale:
            return '%s %s' % (_trim(nbytes / scale), unit)
    return '%d B' % nbytes


def parse_churn(value, unit_required=False, what='churn'):
    """Bytes per second from a churn (write) rate: "5 MB/s", "40 GB/day", "2 GB/h" or bytes/s.

    ``unit_required``: refuse a bare number other than zero. ``what`` names the value in messages
    (the same spelling serves other rates in bytes, such as a per-thread upload rate).
    """
    number, unit = _split(value, what)
    if unit_required:
        _require_unit(number, unit, value, what, CHURN_SPELLING)
    if not unit:
        return number
    size_unit, slash, period = unit.partition('/')
    if not slash or period not in _CHURN_PERIODS:
        raise ValueError('%s %r must be a size per time, e.g. "5 MB/s", "2 GB/h" or "40 GB/day"' % (what, value))
    return number * _lookup(_SIZE_UNITS, size_unit, value, what, '') / _CHURN_PERIODS[period]


def format_churn(bytes_per_s):
    """A churn rate as "5 MB/s" (binary, like sizes)."""
    return '%s/s' % format_size(bytes_per_s)


def _trim(number):
    """At most two decimals, no trailing zeros: 512.0 -> "512", 1.50 -> "1.5"."""
    return ('%.2f' % number).rstrip('0').rstrip('.')
