"""`vmrun import` of the whole VM (issue 20's last part): firmware, TPM, shares, USB and PCI passthrough
become the keys that make vmrun do them; the daemons the script starts are read, not run; the script's
UEFI variables and swtpm state become the VM's own in its data folder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.test_import import imported, notes_about, script  # noqa: F401 (fixture)
from vmrun import datadir
from vmrun.importer import import_script

OVMF = Path("/usr/share/OVMF")
UEFI_SB = f"""#!/bin/sh
cp -n {OVMF}/OVMF_VARS_4M.ms.fd vars.fd
qemu-system-x86_64 -machine q35,smm=on,accel=tcg -m 2G \\
  -global driver=cfi.pflash01,property=secure,value=on \\
  -drive if=pflash,format=raw,unit=0,file={OVMF}/OVMF_CODE_4M.ms.fd,readonly=on \\
  -drive if=pflash,format=raw,unit=1,file=vars.fd \\
  -drive file=win.qcow2,if=virtio
"""


def test_uefi_secure_boot_pflash_pair_and_its_variables(script, tmp_path):  # noqa: F811
    shutil.copy(OVMF / "OVMF_VARS_4M.ms.fd", tmp_path / "vars.fd")
    profile, notes = imported(script(UEFI_SB))
    assert profile["firmware"] == "uefi" and profile["secure_boot"] is True
    assert profile["machine"] == "q35,accel=tcg" or profile["machine"].startswith("q35")
    assert "smm=on" not in profile["machine"]  # secure_boot adds it
    assert not any("pflash" in a for a in profile.get("extra_args", []))
    assert notes_about(notes, "printed, not written")  # -o -: nothing copied


def test_the_variables_are_copied_into_the_data_folder_when_written(script, tmp_path):  # noqa: F811
    shutil.copy(OVMF / "OVMF_VARS_4M.ms.fd", tmp_path / "vars.fd")
    (tmp_path / "vars.fd").write_bytes((tmp_path / "vars.fd").read_bytes()[:-6] + b"MARKER")
    result = import_script(str(script(UEFI_SB)), name="win", output=str(tmp_path / "win.toml"))
    nvram = datadir.data_root() / "win" / "nvram.qcow2"
    assert any("copied to" in n and str(nvram) in n for n in result.notes)
    info = subprocess.run(["qemu-img", "info", str(nvram)], capture_output=True, text=True, check=True).stdout
    assert "file format: qcow2" in info
    raw = tmp_path / "back.fd"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(nvram), str(raw)], check=True)
    assert raw.read_bytes().endswith(b"MARKER")
    # Again: the VM's own is kept unless --force.
    result = import_script(str(script(UEFI_SB)), name="win", output=str(tmp_path / "win.toml"), force=True)
    assert any("copied to" in n for n in result.notes)


def test_a_variables_file_of_another_size_is_not_copied(script, tmp_path):  # noqa: F811
    shutil.copy(OVMF / "OVMF_VARS.ms.fd", tmp_path / "vars.fd")  # the 2 MiB build; vmrun picks the 4 MiB one
    text = UEFI_SB.replace("OVMF_CODE_4M.ms.fd", "OVMF_CODE.ms.fd")
    result = import_script(str(script(text)), name="old", output=str(tmp_path / "old.toml"))
    assert [n for n in result.notes if "size does not fit" in n]
    assert not (datadir.data_root() / "old" / "nvram.qcow2").exists()


def test_bios_ovmf_is_uefi_and_another_bios_stays(script):  # noqa: F811
    profile, _ = imported(script("qemu-system-x86_64 -bios /usr/share/ovmf/OVMF.fd -m 1G\n"))
    assert profile["firmware"] == "uefi" and "secure_boot" not in profile
    profile, _ = imported(script("qemu-system-x86_64 -bios my-seabios.bin -m 1G\n"))
    assert "firmware" not in profile and "-bios" in profile["extra_args"]


def test_secure_boot_firmware_on_pc_stays_in_extra_args(script):  # noqa: F811
    profile, notes = imported(script(f"qemu-system-x86_64 -pflash {OVMF}/OVMF_CODE_4M.secboot.fd\n"))
    assert "firmware" not in profile and notes_about(notes, "needs q35")


SWTPM = """#!/bin/bash
mkdir -p /tmp/emulated_tpm
swtpm socket --tpmstate dir=/tmp/emulated_tpm --ctrl type=unixio,path=/tmp/emulated_tpm/swtpm-sock \\
  --log level=20 --tpm2 &
qemu-system-x86_64 -machine q35 -m 4G \\
  -chardev socket,id=chrtpm,path=/tmp/emulated_tpm/swtpm-sock \\
  -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-tis,tpmdev=tpm0 \\
  -drive file=disk.qcow2,if=virtio
"""


def test_swtpm_and_tpmdev_become_the_tpm_table(script):  # noqa: F811
    profile, notes = imported(script(SWTPM))
    assert profile["tpm"] == {"version": "2.0"}
    assert not any("tpm" in a or "chrtpm" in a for a in profile.get("extra_args", []))
    assert notes_about(notes, "swtpm socket --tpmstate") == notes_about(notes, "[tpm] key has vmrun start its own")
    assert notes_about(notes, "as the swtpm of line 3")
    profile, _ = imported(script(SWTPM.replace(" --tpm2", "")))
    assert profile["tpm"] == {"version": "1.2"}


def test_the_swtpm_state_is_copied_into_the_data_folder(script, tmp_path):  # noqa: F811
    state = tmp_path / "tpmstate"
    state.mkdir()
    (state / "tpm2-00.permall").write_bytes(b"state")
    text = SWTPM.replace("/tmp/emulated_tpm", str(state))
    result = import_script(str(script(text)), name="t", output=str(tmp_path / "t.toml"))
    copied = datadir.data_root() / "t" / "tpm" / "tpm2-00.permall"
    assert copied.read_bytes() == b"state" and any("swtpm state" in n and "copied" in n for n in result.notes)
    assert (copied.parent.stat().st_mode & 0o777) == 0o700


def test_a_passthrough_tpm_stays(script):  # noqa: F811
    text = "qemu-system-x86_64 -tpmdev passthrough,id=tpm0,path=/dev/tpm0 -device tpm-tis,tpmdev=tpm0\n"
    profile, notes = imported(script(text))
    assert "tpm" not in profile and notes_about(notes, "passthrough TPM")


VIRTIOFS = """#!/bin/bash
/usr/lib/qemu/virtiofsd --socket-path=/tmp/vhostqemu -o source=/srv/share -o cache=always &
qemu-system-x86_64 -machine q35 -m 4G \\
  -object memory-backend-memfd,id=mem,size=4G,share=on -numa node,memdev=mem \\
  -chardev socket,id=char0,path=/tmp/vhostqemu \\
  -device vhost-user-fs-pci,queue-size=1024,chardev=char0,tag=myfs \\
  -drive file=disk.qcow2,if=virtio
"""


def test_virtiofsd_and_its_device_become_a_share(script):  # noqa: F811
    profile, notes = imported(script(VIRTIOFS))
    assert profile["shares"] == [{"source": "/srv/share", "tag": "myfs"}]
    assert not any(w in " ".join(profile.get("extra_args", [])) for w in ("memfd", "numa", "char0"))
    assert notes_about(notes, "[[shares]] entry has vmrun start its own")
    rust = VIRTIOFS.replace(
        "--socket-path=/tmp/vhostqemu -o source=/srv/share -o cache=always",
        "--socket-path /tmp/vhostqemu --shared-dir /srv/share",
    )
    assert imported(script(rust))[0]["shares"] == [{"source": "/srv/share", "tag": "myfs"}]


def test_a_virtiofs_device_without_its_daemon_stays(script):  # noqa: F811
    profile, notes = imported(script(VIRTIOFS.split("\n", 2)[2]))
    assert "shares" not in profile and notes_about(notes, "virtiofsd behind it")


def test_9p_fsdev_and_virtfs_become_shares(script):  # noqa: F811
    text = (
        "qemu-system-x86_64 -m 1G -fsdev local,id=fs0,path=/srv/a,security_model=mapped-xattr \\\n"
        "  -device virtio-9p-pci,fsdev=fs0,mount_tag=a \\\n"
        "  -virtfs local,path=/srv/b,mount_tag=b,security_model=none,readonly=on\n"
    )
    profile, _ = imported(script(text))
    assert profile["shares"] == [
        {"source": "/srv/a", "tag": "a", "type": "9p"},
        {"source": "/srv/b", "tag": "b", "type": "9p", "readonly": True},
    ]
    assert "extra_args" not in profile


def test_usb_host_and_vfio_pci_become_usb_and_pci(script):  # noqa: F811
    text = (
        "qemu-system-x86_64 -machine q35 -m 1G -device qemu-xhci,id=xhci \\\n"
        "  -device usb-host,bus=xhci.0,vendorid=0x046d,productid=0xc52b,id=receiver \\\n"
        "  -device usb-host,hostbus=1,hostport=4 -usbdevice host:1234:5678 \\\n"
        "  -device vfio-pci,host=01:00.0 -device vfio-pci,host=0000:02:00.1,x-vga=on\n"
    )
    profile, notes = imported(script(text))
    assert profile["usb"] == [
        {"vendor": "046d", "product": "c52b", "id": "receiver"},
        {"host": "1-4"},
        {"vendor": "1234", "product": "5678"},
    ]
    assert profile["pci"] == [{"host": "0000:01:00.0"}, {"host": "0000:02:00.1", "options": "x-vga=on"}]
    assert "extra_args" not in profile  # the xhci only the passed devices used: vmrun gives its own
    assert notes_about(notes, "carried on the [[pci]] entry as options = 'x-vga=on'")


@pytest.fixture(autouse=True)
def _own_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("VMRUN_DATA_DIR", str(tmp_path / "data"))
