"""Cloud images in a cache of vmrun's own: `vmrun image pull|list|rm`, the base of `vmrun new NAME --image N`.

    catalogue.py (+ catalogue.toml)  the images vmrun knows by name: URL, checksum file, default user
    sums.py                          checksum files (GNU and BSD formats) read into digests
    store.py                         the cache folder: N (verified), N.json (its record), N.part (unfinished)
    pull.py                          resolve what to fetch and how to verify it; download, resume, verify, place

Which VMs use an image (`image rm` refuses then) is vmrun/imageusers.py, above the engines;
the profile `new --image` writes is vmrun/imagenew.py.
"""
