"""`vmrun image pull|list|rm`: cloud images in vmrun's cache (the library: vmrun/images/, vmrun/imageusers.py)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import JsonOpt, app, command

image_app = typer.Typer(
    help="Cloud images in vmrun's cache (~/.cache/vmrun/images), each verified by its checksum; "
    "the base of vmrun new NAME --image N.",
    no_args_is_help=True,
)
app.add_typer(image_app, name="image")
ImageName = Annotated[str, typer.Argument(metavar="N", help="The image's name in the cache (vmrun image list).")]


@command("pull", group=image_app)
def image_pull(
    source: Annotated[
        str, typer.Argument(metavar="NAME|URL", help="A catalogue name (vmrun image list --catalogue) or a URL.")
    ],
    *,
    sha256: Annotated[Optional[str], typer.Option("--sha256", metavar="SUM", help="The image's SHA-256.")] = None,
    sha512: Annotated[Optional[str], typer.Option("--sha512", metavar="SUM", help="The image's SHA-512.")] = None,
    sums: Annotated[
        Optional[str],
        typer.Option(
            "--sums", metavar="URL", help="A checksum file listing the image (SHA256SUMS, GNU or BSD format)."
        ),
    ] = None,
    name: Annotated[
        Optional[str],
        typer.Option("--name", metavar="N", help="Its name in the cache (default: catalogue name or file)."),
    ] = None,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Take an image nothing can verify (no checksum given or known).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Download a cloud image into the cache, verified against its checksum before it gets its name.

    A cut download stays as N.part and the same pull resumes it; a wrong checksum keeps nothing.
    $VMRUN_IMAGE_MIRROR=BASE fetches catalogue images from BASE/HOST/PATH.

    Example: vmrun image pull debian-12   (then: vmrun new web --image debian-12)
    """
    from vmrun.images import pull

    src = pull.resolve(source, sha256=sha256, sha512=sha512, sums_url=sums, name=name, insecure=insecure)
    record, already = pull.download(src)
    if already:
        ui.notice(f"{record.name} is in the cache already; to pull it again: vmrun image rm {record.name}")
    if as_json:
        print(json.dumps({**record.as_json(), "already": already}, indent=2))
    elif not already:
        print(
            f"pulled {record.name}: {record.file} ({ui.size(record.size)}, {record.format}, verified by {record.verified_by})"
        )
    else:
        print(f"{record.name}: {record.file}")


@command("list", group=image_app)
def image_list(
    *,
    catalogue: Annotated[
        bool, typer.Option("--catalogue", help="List the images vmrun knows by name instead.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The images in the cache (and unfinished downloads), or with --catalogue the ones `pull` knows by name.

    Example: vmrun image list --json
    """
    if catalogue:
        from vmrun.images.catalogue import entries

        known = list(entries().values())
        if as_json:
            print(json.dumps([e.as_json() for e in known], indent=2))
        else:
            print(ui.table(["NAME", "USER", "DESCRIPTION"], [[e.name, e.user, e.description] for e in known]))
        return
    from vmrun.images import store

    found = store.listing()
    if as_json:
        print(json.dumps(found, indent=2))
    elif not found:
        print(f"no images in {store.image_dir()} (vmrun image pull NAME; names: vmrun image list --catalogue)")
    else:
        rows = [
            [i["name"], ui.size(i["size"]), "unfinished download", "-", i["file"]]
            if i["partial"]
            else [i["name"], ui.size(i["size"]), i["format"], i["user"] or "-", i["file"]]
            for i in found
        ]
        print(ui.table(["NAME", "SIZE", "FORMAT", "USER", "FILE"], rows))


@command("rm", group=image_app)
def image_rm(name: ImageName, *, as_json: JsonOpt = False) -> None:
    """Delete an image from the cache (and an unfinished download of it); refused while a VM's disk is on it.

    The VMs that count: the profiles on the profile path, and the running VMs.
    Example: vmrun image rm debian-12
    """
    from vmrun import imageusers

    removed = imageusers.remove(name)
    if as_json:
        print(json.dumps({"name": name, "removed": [str(p) for p in removed]}))
    else:
        print(f"removed {', '.join(str(p) for p in removed)}")
