"""A fit knows the machine it was measured on; a host prediction elsewhere says so."""

from exporter.devices.fingerprint import Fingerprint, this_machine

FIT = Fingerprint("AMD EPYC 9R14", ("avx2", "avx512f", "avx512_vnni"), 2, 1.00)


def test_alike_within_ten_percent():
    assert FIT.differences(Fingerprint(FIT.cpu, FIT.flags, 2, 1.08)) == []


def test_differences_are_named():
    other = Fingerprint("AMD EPYC 7B13", ("avx2",), 2, 1.25)
    out = FIT.differences(other)
    assert len(out) == 3, out
    assert "CPU 'AMD EPYC 7B13'" in out[0] and "SIMD flags avx2" in out[1] and "+25 %" in out[2]


def test_this_machine_reads_cpu_and_times_a_reference():
    me = this_machine(threads=1)
    print(f"\n{me}")
    assert me.cpu and me.cores >= 1 and 0 < me.reference_ms < 1000
    assert Fingerprint.from_dict(me.to_dict()) == me


def test_host_mismatch_names_the_fix(monkeypatch):
    from exporter.devices import commands

    assert "records no machine fingerprint" in commands.host_mismatch(None)
    monkeypatch.setattr(commands, "_this_machine", lambda: Fingerprint(FIT.cpu, FIT.flags, 2, 1.5))
    warning = commands.host_mismatch(FIT.to_dict())
    assert "reference timing 1.50 ms vs 1.00 ms (+50 %)" in warning and "profile calibrate --quick" in warning
    monkeypatch.setattr(commands, "_this_machine", lambda: FIT)
    assert commands.host_mismatch(FIT.to_dict()) is None
