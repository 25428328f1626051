"""Vendor test vectors (polar-ble-sdk unit tests and PMD spec, see firmware_notes/polar-pmd.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calfsense.errors import CalfsenseError, FrameError
from calfsense.protocol import gatt
from calfsense.protocol.pmd import (
    ControlPointResponse,
    DecodeContext,
    FeatureEcho,
    MeasurementSettings,
    MeasurementStopped,
    MeasurementType,
    PmdStatus,
    ResponseAssembler,
    SettingType,
    build_get_settings,
    build_start,
    build_stop,
    decode_delta_content,
    decode_frame,
    negotiate_settings,
    parse_control_point,
    parse_features,
    parse_settings,
    parse_settings_options,
    status_message,
)
from calfsense.protocol.timestamps import FrameTimer, sdk_sample_times


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def test_v1_raw_acc_type1_h10() -> None:
    head = h("02 00 94 35 77 00 00 00 00 01")
    known = h("F7 FF FF FF E7 03 F8 FF FE FF E5 03")
    frame = decode_frame(head + known + bytes(216 - len(known)))
    assert frame.measurement is MeasurementType.ACC
    assert frame.timestamp_ns == 2_000_000_000
    assert frame.frame_type == 1 and not frame.compressed
    assert len(frame) == 36
    assert frame.samples[0].tolist() == [-9, -1, 999]
    assert frame.samples[1].tolist() == [-8, -2, 997]
    times = sdk_sample_times(frame.timestamp_ns, 36, 52, None)
    assert times[0] == 1_326_923_077 and times[-1] == 2_000_000_000
    timer_times = FrameTimer(52).times(frame.timestamp_ns, 36).times_ns
    assert timer_times[0] == 1_326_923_077 and timer_times[-1] == 2_000_000_000


def test_v2_compressed_type1_six_bit_deltas() -> None:
    frame = decode_frame(h("02 65 00 00 00 00 00 00 00 81 F1 FF 14 00 F0 03 06 01 7B 0F 08"))
    assert frame.compressed and frame.frame_type == 0x81
    assert frame.unit == "mG"
    assert frame.samples.tolist() == [[-15, 20, 1008], [-20, 17, 1008]]
    assert sdk_sample_times(101, 2, 52, 100) == [100, 101]


def test_v3_compressed_type0_with_factor() -> None:
    head = h("02 00 94 35 77 00 00 00 00 80")
    content = h("71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96")
    block_len = math.ceil(10 * 56 * 3 / 8)
    data = head + content + bytes(8 + block_len - len(content))
    raw = decode_delta_content(data, 10, 16, 3)
    assert len(raw) == 57
    assert raw[0].tolist() == [1905, 27376, -29282]
    assert raw[1].tolist() == [2095, 27271, -29367]
    frame = decode_frame(data, DecodeContext(factor=2.44e-4))
    assert frame.samples[0].tolist() == [464, 6679, -7144]
    assert frame.samples[1].tolist() == [511, 6654, -7165]


def test_v4_pmd_spec_verity_delta_example() -> None:
    head = h("02 64 6C 76 C4 3C C6 7F 07 80")
    content = h("D0 FF 65 01 E4 0F 08 1D FC 07 FF 0C 13 F2")
    data = head + content + bytes(6 + 2 + 29 * 3 - len(content))
    raw = decode_delta_content(data, 10, 16, 3)
    assert len(raw) == 30
    assert raw[:3].tolist() == [[-48, 357, 4068], [-52, 364, 4067], [-40, 383, 4053]]
    assert decode_frame(data).timestamp_ns == 540_368_444_604_181_604


def test_v5_settings() -> None:
    get = parse_control_point(h("F0 01 02 00 00 00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"))
    assert isinstance(get, ControlPointResponse) and get.ok
    opts = parse_settings_options(get.parameters)
    assert opts.get(SettingType.SAMPLE_RATE) == (25, 50, 100, 200)
    assert opts.get(SettingType.RESOLUTION) == (16,)
    assert opts.get(SettingType.RANGE) == (2, 4, 8)
    sdk = parse_settings(h("00 01 34 00 01 01 10 00 02 04 F5 00 F4 01 E8 03 D0 07 04 01 03"))
    assert sdk[SettingType.SAMPLE_RATE] == (52,)
    assert sdk[SettingType.RESOLUTION] == (16,)
    assert sdk[SettingType.RANGE] == (245, 500, 1000, 2000)
    assert sdk[SettingType.CHANNELS] == (3,)
    factor = parse_settings(h("05 01 40 DA 7F 39"))[SettingType.FACTOR][0]
    assert factor == pytest.approx(0.000244, rel=1e-3)


def test_v6_gyro_three_bit_deltas() -> None:
    frame = decode_frame(h("05 01 00 00 00 00 00 00 00 80 EA FF 08 00 0D 00 03 01 DF 00"))
    assert frame.measurement is MeasurementType.GYRO
    assert frame.unit == "deg/s"
    assert frame.samples.tolist() == [[-22, 8, 13], [-23, 11, 16]]


def test_v7_real_verity_frame() -> None:
    head = h("02 00 41 6F C4 12 45 93 0A 81")
    ref = h("EE 02 1F FE 82 FF")
    wanted = [(766, -519, -94), (724, -612, -83)]
    last = (720, -670, -34)
    # Block deltas: the two published samples, then the rest folded into one delta to the last.
    d = [
        np.subtract(wanted[0], (750, -481, -126)),
        np.subtract(wanted[1], wanted[0]),
        np.subtract(last, wanted[1]),
    ]
    deltas = [int(v) & 0xFF for row in d for v in row] + [0] * 21
    frame = decode_frame(head + ref + bytes((8, 10)) + bytes(deltas))
    assert frame.timestamp_ns == 762_028_708_863_099_136
    assert frame.samples[0].tolist() == [750, -481, -126]
    assert frame.samples[1].tolist() == [766, -519, -94]
    assert frame.samples[2].tolist() == [724, -612, -83]
    assert frame.samples[-1].tolist() == [720, -670, -34]
    assert len(frame) == 11
    norms = np.linalg.norm(frame.samples, axis=1)
    assert np.all((norms > 850) & (norms < 1000))  # gravity in mG


def test_v8_control_point_responses() -> None:
    ok = parse_control_point(h("F0 01 02 00 00 FF FF FF"))
    assert isinstance(ok, ControlPointResponse)
    assert (ok.op_code, ok.measurement, ok.status, ok.more, ok.parameters) == (1, 2, 0, False, h("FF FF FF"))
    err = parse_control_point(h("F0 01 06 07 00"))
    assert isinstance(err, ControlPointResponse)
    assert err.measurement == MeasurementType.MAG
    assert err.status == PmdStatus.ERROR_INVALID_RESOLUTION
    assert err.parameters == b""


def test_pmd_spec_h10_frame_prefix() -> None:
    frame = decode_frame(h("02 EA 54 A2 42 8B 45 52 08 01 45 FF E4 FF B5 03"))
    assert frame.timestamp_ns == 599_618_164_814_402_794
    assert frame.samples[0].tolist() == [-187, -28, 949]


def test_start_requests_and_answers() -> None:
    verity = MeasurementSettings(sample_rate_hz=52, resolution_bits=16, range=8, channels=3)
    assert build_start(MeasurementType.ACC, verity) == h("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03")
    h10 = MeasurementSettings(sample_rate_hz=200, resolution_bits=16, range=8)
    spec = h("02 02 02 01 08 00 00 01 C8 00 01 01 10 00")  # TLV order is free
    built = build_start(MeasurementType.ACC, h10)
    assert parse_settings(built[2:]) == parse_settings(spec[2:])
    assert build_get_settings(MeasurementType.ACC) == h("01 02")
    assert build_stop(MeasurementType.ACC) == h("03 02")
    ans = parse_control_point(h("F0 02 02 00 00 05 01 40 DA 7F 39"))
    assert isinstance(ans, ControlPointResponse) and ans.factor() == pytest.approx(0.000244, rel=1e-3)
    h10_ans = parse_control_point(h("F0 02 02 00 00 01"))
    assert isinstance(h10_ans, ControlPointResponse) and h10_ans.factor() == 1.0
    stop = parse_control_point(h("F0 03 02 00 00"))
    assert isinstance(stop, ControlPointResponse) and stop.ok


def test_negotiation_picks_nearest_full_set() -> None:
    h10 = parse_settings_options(h("00 04 19 00 32 00 64 00 C8 00 01 01 10 00 02 03 02 00 04 00 08 00"))
    chosen = negotiate_settings(h10, 100, 8)
    assert (chosen.sample_rate_hz, chosen.resolution_bits, chosen.range, chosen.channels) == (
        100,
        16,
        8,
        None,
    )
    assert negotiate_settings(h10, 130, 16).sample_rate_hz == 100
    assert negotiate_settings(h10, 130, 16).range == 8
    verity = parse_settings_options(h("00 01 34 00 01 01 10 00 02 01 08 00 04 01 03"))
    chosen = negotiate_settings(verity, 100)
    assert (chosen.sample_rate_hz, chosen.range, chosen.channels) == (52, 8, 3)
    with pytest.raises(CalfsenseError):
        negotiate_settings(parse_settings_options(h("02 01 08 00")), 100)


def test_unsolicited_stop_and_feature_echo() -> None:
    stopped = parse_control_point(h("01 01 02"))
    assert isinstance(stopped, MeasurementStopped) and stopped.measurements == (1, 2)
    echo = parse_control_point(h("0F 05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"))
    assert isinstance(echo, FeatureEcho)
    assert echo.features.measurements == {MeasurementType.ECG, MeasurementType.ACC}
    verity = parse_features(h("0F 6E") + bytes(15))
    assert verity.measurements == {
        MeasurementType.PPG,
        MeasurementType.ACC,
        MeasurementType.PPI,
        MeasurementType.GYRO,
        MeasurementType.MAG,
    }


def test_more_continuation_reassembly() -> None:
    asm = ResponseAssembler()
    assert asm.feed(h("F0 01 02 00 01 00 02 19 00")) is None
    whole = asm.feed(h("F0 01 02 00 00 32 00 01 01 10 00"))
    assert isinstance(whole, ControlPointResponse) and not whole.more
    assert parse_settings_options(whole.parameters).get(SettingType.SAMPLE_RATE) == (25, 50)


@pytest.mark.parametrize("code", range(19))
def test_every_status_has_words_and_advice(code: int) -> None:
    text = status_message(code)
    assert PmdStatus(code).name in text and ":" in text
    if code:
        assert len(text) > 40


def test_status_advice_for_common_failures() -> None:
    assert "stop it first" in status_message(6)
    assert "MTU" in status_message(10)
    assert "charger" in status_message(13)
    assert "unknown status 99" in status_message(99)


@pytest.mark.parametrize(
    ("packet", "bpm", "contact", "energy", "rr"),
    [
        ("00 FF", 255, None, None, ()),
        ("01 80 80", 32896, None, None, ()),
        ("06 00", 0, True, None, ()),
        ("04 00", 0, False, None, ()),
        ("09 00 00 FF FF", 0, None, 65535, ()),
        ("08 00 7F 80", 0, None, 32895, ()),
        ("10 00 FF FF", 0, None, None, (63999,)),
        ("11 00 00 FF FF 7F 80", 0, None, None, (63999, 32124)),
    ],
)
def test_heart_rate_table(packet: str, bpm: int, contact: bool | None, energy: int | None, rr: tuple[int, ...]) -> None:
    hr = gatt.decode_heart_rate(h(packet))
    assert (hr.heart_rate_bpm, hr.contact, hr.energy_kj, hr.rr_ms) == (bpm, contact, energy, rr)


def test_heart_rate_round_trip_and_errors() -> None:
    pkt = gatt.encode_heart_rate(62, [1000, 980], contact=True, energy_kj=12)
    hr = gatt.decode_heart_rate(pkt)
    assert hr.heart_rate_bpm == 62 and hr.contact is True and hr.energy_kj == 12
    assert hr.rr_ms == (977, 957)
    assert gatt.encode_heart_rate(70, [1024])[0] == 0x10  # what an H10 sends
    for bad in ("", "01 50", "08 00 01", "10 00 01"):
        with pytest.raises(FrameError):
            gatt.decode_heart_rate(h(bad))


def test_battery_and_device_information() -> None:
    assert gatt.decode_battery_level(b"\x57") == 87
    with pytest.raises(FrameError):
        gatt.decode_battery_level(b"")
    with pytest.raises(FrameError):
        gatt.decode_battery_level(b"\xc8")
    info = gatt.DeviceInformation.from_raw(
        {
            "model": b"H10\x00",
            "firmware_revision": b"5.0.0",
            "software_revision": b"3.2.0",
            "serial": b"BA2B0B2D",
        }
    )
    assert info.model == "H10" and info.firmware == "3.2.0" and info.serial == "BA2B0B2D"


def test_decoding_many_frames_at_once_gives_what_one_by_one_gives() -> None:
    # The replay's batch path (raw frames of one length in one numpy pass) against the frame-by-frame decoder,
    # on a real H10 recording's frames, a Verity's compressed ones, and damaged ones among them.
    from pathlib import Path

    from calfsense.errors import FrameError
    from calfsense.protocol.pmd import decode_frames
    from calfsense.session.recording import CHAR_PMD_DATA, iter_notifications, read_raw

    root = Path(__file__).parent.parent / "recordings"
    datas: list[bytes] = []
    for name in ("runner-calves-h10-chest.csrec.jsonl", "two-sets-verity-foot-dropout.csrec.jsonl"):
        datas += [d for _, _, d in iter_notifications(read_raw(root / name), CHAR_PMD_DATA)][:400]
    datas += [datas[0][:13], datas[1][:-2], b"\x02" + bytes(9) + b"\x07" + bytes(6), datas[5][:10]]
    batch = decode_frames(datas)
    for data, got in zip(datas, batch, strict=True):
        try:
            one = decode_frame(data)
        except FrameError:
            assert isinstance(got, FrameError)
            continue
        assert not isinstance(got, FrameError)
        assert (got.measurement, got.timestamp_ns, got.frame_type) == (
            one.measurement,
            one.timestamp_ns,
            one.frame_type,
        )
        np.testing.assert_array_equal(got.samples, one.samples)
