#!/usr/bin/env python3
"""Writes tiny torch.save checkpoints for Tests/UniNLUCheckpointTests, without torch.

torch.save is Python's pickle (protocol 2) plus a persistent_id hook, written into a zip by
PyTorchStreamWriter. This script reproduces both exactly:
  * the pickle comes from Python's own pickle.Pickler, with stand-in modules `torch` and
    `torch._utils` in sys.modules so that GLOBAL opcodes name the same objects torch's do, and a
    persistent_id returning torch's ('storage', <StorageClass>, key, 'cpu', numel) tuple;
  * the zip is written by hand like PyTorchStreamWriter (miniz): entries stored, each local header
    padded with an 'FB' extra field so the data starts 64-byte aligned, flags 0x0808 with a data
    descriptor after the data (0x0800 and none for an empty entry), entries in torch 2.x order (data.pkl, .format_version,
    .storage_alignment, byteorder, data/<key>..., version, .data/serialization_id), then the
    central directory, a zip64 end record with its locator, and the classic end record.

Output: Tests/UniNLUCheckpointTests/TorchTestCheckpoints.swift (every file as base64, so the
tests need no resources), and with --out DIR also the files themselves plus expected.json.

--verify-with-torch DIR (needs torch importable, e.g. PYTHONPATH=...) loads every valid file
with torch.load(weights_only=True) in a clean subprocess, checks the values against
expected.json, reports what torch makes of the invalid ones, and re-saves the "state_dict" fixture
with the real torch.save to show the bytes are identical (apart from the random
serialization id).
"""

import argparse
import base64
import collections
import json
import math
import os
import pickle
import struct
import subprocess
import sys
import types
import zipfile
import zlib

# ---------------------------------------------------------------------------------------------
# Stand-ins for the torch globals a checkpoint names. Only their module/name matter to pickle.

_torch = types.ModuleType("torch")
_utils = types.ModuleType("torch._utils")


def _rebuild_tensor_v2(*args):
    raise RuntimeError("stand-in only")


def _rebuild_parameter(*args):
    raise RuntimeError("stand-in only")


for fn in (_rebuild_tensor_v2, _rebuild_parameter):
    fn.__module__ = "torch._utils"
    setattr(_utils, fn.__name__, fn)

# dtype name -> (torch storage class, struct format, bytes per element)
DTYPES = {
    "float64": ("DoubleStorage", "d", 8),
    "float32": ("FloatStorage", "f", 4),
    "float16": ("HalfStorage", "e", 2),
    "bfloat16": ("BFloat16Storage", None, 2),
    "int64": ("LongStorage", "q", 8),
    "int32": ("IntStorage", "i", 4),
    "int16": ("ShortStorage", "h", 2),
    "int8": ("CharStorage", "b", 1),
    "uint8": ("ByteStorage", "B", 1),
    "bool": ("BoolStorage", "?", 1),
}
STORAGE_CLASSES = {}
for _name, (_cls, _, _) in DTYPES.items():
    STORAGE_CLASSES[_name] = type(_cls, (), {"__module__": "torch"})
    setattr(_torch, _cls, STORAGE_CLASSES[_name])
_torch._utils = _utils

_saved_modules = {k: sys.modules.get(k) for k in ("torch", "torch._utils")}


def _install_fake_torch():
    sys.modules["torch"] = _torch
    sys.modules["torch._utils"] = _utils


def _remove_fake_torch():
    for key, module in _saved_modules.items():
        if module is None:
            sys.modules.pop(key, None)
        else:
            sys.modules[key] = module


def pack(dtype, values, big_endian=False):
    order = ">" if big_endian else "<"
    if dtype == "bfloat16":
        # bfloat16 = top 16 bits of float32; the values used here are exact in bfloat16.
        out = b""
        for v in values:
            bits = struct.unpack("<I", struct.pack("<f", v))[0] >> 16
            out += struct.pack(order + "H", bits)
        return out
    fmt = DTYPES[dtype][1]
    return struct.pack(order + fmt * len(values), *values)


class Storage:
    """One storage record (archive entry data/<key>)."""

    def __init__(self, dtype, values):
        self.dtype = dtype
        self.values = list(values)


class Tensor:
    def __init__(self, storage, offset, size, stride, parameter=False):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)
        self.parameter = parameter

    def __reduce_ex__(self, protocol):
        plain = _PlainTensor(self)
        if self.parameter:
            return (_rebuild_parameter, (plain, True, collections.OrderedDict()))
        return plain.__reduce_ex__(protocol)

    def elements(self):
        """Row-major values of the view (what the reader must return)."""
        if any(s == 0 for s in self.size):
            return []
        out = []

        def walk(dim, pos):
            if dim == len(self.size):
                out.append(self.storage.values[pos])
                return
            for i in range(self.size[dim]):
                walk(dim + 1, pos + i * self.stride[dim])

        walk(0, self.offset)
        return out


class _PlainTensor:
    def __init__(self, t):
        self.t = t

    def __reduce_ex__(self, protocol):
        t = self.t
        # Fresh tuples per tensor, as torch builds them from torch.Size: pickle's memo must not
        # merge equal sizes of different tensors, or the bytes would differ from torch's.
        size, stride = tuple(list(t.size)), tuple(list(t.stride))
        return (_rebuild_tensor_v2, (t.storage, t.offset, size, stride, False, collections.OrderedDict()))


class _Pickler(pickle.Pickler):
    def __init__(self, file, storages):
        super().__init__(file, protocol=2)
        self.storages = storages

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            # Keys in order of first use within this file, as torch assigns them.
            keys = [id(s) for s, _ in self.storages]
            if id(obj) not in keys:
                self.storages.append((obj, str(len(self.storages))))
                keys.append(id(obj))
            key = self.storages[keys.index(id(obj))][1]
            return ("storage", STORAGE_CLASSES[obj.dtype], key, "cpu", len(obj.values))
        return None


def torch_pickle(obj):
    import io

    storages = []
    buffer = io.BytesIO()
    _install_fake_torch()
    try:
        _Pickler(buffer, storages).dump(obj)
    finally:
        _remove_fake_torch()
    return buffer.getvalue(), storages


# ---------------------------------------------------------------------------------------------
# PyTorchStreamWriter's zip layout.


def _padding(cursor, name_length):
    start = cursor + 30 + name_length + 4
    pad = (64 - start % 64) % 64
    return b"FB" + struct.pack("<H", pad) + b"Z" * pad


def torch_zip(archive, records, force_zip64=False):
    """records: list of (relative name, bytes) in torch's order. Returns the zip's bytes.
    force_zip64 writes every central header the way miniz does for entries past 4 GiB: sizes
    and offset 0xFFFFFFFF, the real values in a zip64 extra field (id 0x0001)."""
    out = bytearray()
    central = bytearray()
    for relative, data in records:
        name = (archive + "/" + relative).encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        extra = _padding(offset, len(name))
        # miniz writes an empty entry without a data descriptor (flag bit 3 clear).
        flags = 0x0808 if data else 0x0800
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 0, flags, 0, 0, 0, 0, 0, 0, len(name), len(extra))
        out += name + extra + data
        if data:
            out += struct.pack("<IIII", 0x08074B50, crc, len(data), len(data))
        if force_zip64:
            zip64_extra = struct.pack("<HHQQQ", 0x0001, 24, len(data), len(data), offset)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0x2D, flags, 0, 0, 0, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(name), len(zip64_extra), 0, 0, 0, 0, 0xFFFFFFFF)
            central += name + zip64_extra
            continue
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0, 0, flags, 0, 0, 0, crc, len(data), len(data),
                               len(name), 0, 0, 0, 0, 0, offset)
        central += name
    directory_offset = len(out)
    out += central
    # torch always adds a zip64 end record and its locator before the classic end record.
    zip64_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x031E, 0x2D, 0, 0, len(records), len(records), len(central),
                       directory_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, zip64_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(records), len(records), len(central), directory_offset, 0)
    return bytes(out)


SERIALIZATION_ID = b"0" * 40


def torch_save(obj, archive, big_endian=False, omit_storage_keys=(), short_storage_keys=(), pickle_bytes=None,
               skip_pickle=False, force_zip64=False):
    """torch.save(obj) as bytes. The extra arguments damage the result on purpose."""
    data_pkl, storages = torch_pickle(obj) if pickle_bytes is None else (pickle_bytes, [])
    records = []
    if not skip_pickle:
        records.append(("data.pkl", data_pkl))
    records += [(".format_version", b"1"), (".storage_alignment", b"64"),
                ("byteorder", b"big" if big_endian else b"little")]
    for storage, key in storages:
        if key in omit_storage_keys:
            continue
        payload = pack(storage.dtype, storage.values, big_endian)
        if key in short_storage_keys:
            payload = payload[: len(payload) // 2]
        records.append(("data/" + key, payload))
    records += [("version", b"3\n"), (".data/serialization_id", SERIALIZATION_ID)]
    return torch_zip(archive, records, force_zip64)


def deflated_copy(zip_bytes):
    """The same archive re-zipped with deflate by Python's zipfile (as a user's tool might)."""
    import io

    source = zipfile.ZipFile(io.BytesIO(zip_bytes))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# The fixtures.


def state_dict_fixture():
    """Every dtype, views, a shared storage, a Parameter, and the _metadata a state_dict has."""
    f16 = Storage("float16", [0.0, 1.0, -2.5, 65504.0, 2.0 ** -24, math.inf])
    transposed = Storage("float32", [1, 2, 3, 4, 5, 6])
    shared = Storage("bfloat16", [i - 3.5 for i in range(10)])
    matrix = Storage("float32", [float(i) for i in range(12)])
    sd = collections.OrderedDict()
    sd["half"] = Tensor(f16, 0, (2, 3), (3, 1))
    sd["transposed"] = Tensor(transposed, 0, (3, 2), (1, 3))  # t() of a 2x3
    sd["shared_a"] = Tensor(shared, 2, (3,), (1,))
    sd["shared_b"] = Tensor(shared, 4, (2, 3), (3, 1))
    sd["columns"] = Tensor(matrix, 1, (3, 2), (4, 1))  # m[:, 1:3] of a 3x4
    sd["expanded"] = Tensor(Storage("float32", [7, 8, 9]), 0, (2, 3), (0, 1))
    sd["scalar"] = Tensor(Storage("float32", [42.5]), 0, (), ())
    sd["empty"] = Tensor(Storage("float32", []), 0, (0, 3), (3, 1))
    sd["weight"] = Tensor(Storage("float32", [0.25, -0.75]), 0, (2,), (1,), parameter=True)
    sd["position_ids"] = Tensor(Storage("int64", [0, 1, 2, 3, 2 ** 40]), 0, (1, 5), (5, 1))
    sd["double"] = Tensor(Storage("float64", [0.1, -1e300]), 0, (2,), (1,))
    sd["int32"] = Tensor(Storage("int32", [-7, 2 ** 31 - 1]), 0, (2,), (1,))
    sd["int16"] = Tensor(Storage("int16", [-300, 300]), 0, (2,), (1,))
    sd["int8"] = Tensor(Storage("int8", [-128, 127]), 0, (2,), (1,))
    sd["uint8"] = Tensor(Storage("uint8", [0, 255]), 0, (2,), (1,))
    sd["mask"] = Tensor(Storage("bool", [True, False, True]), 0, (3,), (1,))
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


def nested_fixture():
    inner = collections.OrderedDict()
    inner["encoder.weight"] = Tensor(Storage("float32", [1, 2, 3, 4]), 0, (2, 2), (2, 1))
    return {"epoch": 3, "state_dict": inner, "optimizer": {"lr": 0.1, "betas": (0.9, 0.999)}, "note": None}


def flattened_fixture():
    return {"encoder": {"w": Tensor(Storage("float32", [1, 2]), 0, (2,), (1,))},
            "heads": [Tensor(Storage("float32", [3]), 0, (1,), (1,))], "step": 10}


def big_endian_fixture():
    sd = collections.OrderedDict()
    sd["f32"] = Tensor(Storage("float32", [1.5, -2.0, 3.25]), 0, (3,), (1,))
    sd["f16"] = Tensor(Storage("float16", [0.5, -1.0]), 0, (2,), (1,))
    sd["bf16"] = Tensor(Storage("bfloat16", [2.0, -4.0]), 0, (2,), (1,))
    sd["i64"] = Tensor(Storage("int64", [1, -2, 2 ** 40]), 0, (3,), (1,))
    return sd


def small_fixture():
    sd = collections.OrderedDict()
    sd["a"] = Tensor(Storage("float32", [1, 2, 3, 4, 5, 6]), 0, (2, 3), (3, 1))
    sd["b"] = Tensor(Storage("float16", [0.5, 0.25]), 0, (2,), (1,))
    return sd


def forbidden_global_pickle():
    # os.system("echo pwned") as a pickle: GLOBAL at byte 2.
    return b"\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03."


def unknown_opcode_pickle():
    # {'a': <byte 0xff>}: 0xff is at byte 14 and is no pickle opcode at all.
    return b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01\xffu."


def newobj_pickle():
    # collections.OrderedDict.__new__(OrderedDict): NEWOBJ (0x81) at byte 30.
    return b"\x80\x02ccollections\nOrderedDict\nq\x00)\x81q\x01."


def out_of_bounds_view():
    sd = collections.OrderedDict()
    sd["too_long"] = Tensor(Storage("float32", [1, 2, 3]), 1, (3,), (1,))
    return sd


def legacy_pickle():
    # The pre-1.6 format starts with this pickled magic number.
    return pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)


def build_all():
    """name -> (bytes, expected tensors or None for files that must be refused)."""
    files = {}

    def expected(obj, flatten=False, prefix=""):
        result = collections.OrderedDict()

        def add(value, path):
            if isinstance(value, Tensor):
                result[".".join(path)] = {"dtype": value.storage.dtype, "shape": list(value.size),
                                          "values": value.elements()}
            elif isinstance(value, dict):
                for k, v in value.items():
                    add(v, path + [str(k)])
            elif isinstance(value, (list, tuple)):
                for i, v in enumerate(value):
                    add(v, path + [str(i)])

        add(obj, [])
        return result

    sd = state_dict_fixture()
    files["state_dict"] = (torch_save(sd, "state_dict"), expected(sd))
    nested = nested_fixture()
    files["nested"] = (torch_save(nested, "nested"), expected(nested["state_dict"]))
    flat = flattened_fixture()
    files["flattened"] = (torch_save(flat, "flattened"), expected(flat))
    big = big_endian_fixture()
    files["big_endian"] = (torch_save(big, "big_endian", big_endian=True), expected(big))
    small = small_fixture()
    files["deflated"] = (deflated_copy(torch_save(small, "deflated")), expected(small))
    files["zip64_headers"] = (torch_save(small, "zip64_headers", force_zip64=True), expected(small))
    files["forbidden_global"] = (torch_save(None, "forbidden_global", pickle_bytes=forbidden_global_pickle()), None)
    files["unknown_opcode"] = (torch_save(None, "unknown_opcode", pickle_bytes=unknown_opcode_pickle()), None)
    files["newobj"] = (torch_save(None, "newobj", pickle_bytes=newobj_pickle()), None)
    files["no_data_pkl"] = (torch_save(small_fixture(), "no_data_pkl", skip_pickle=True), None)
    files["missing_storage"] = (torch_save(small_fixture(), "missing_storage", omit_storage_keys=("1",)), None)
    files["short_storage"] = (torch_save(small_fixture(), "short_storage", short_storage_keys=("0",)), None)
    files["view_out_of_bounds"] = (torch_save(out_of_bounds_view(), "view_out_of_bounds"), None)
    files["legacy"] = (legacy_pickle(), None)
    return files


# ---------------------------------------------------------------------------------------------


def swift_source(files):
    lines = [
        "// GENERATED by scripts/make_torch_test_checkpoints.py — do not edit; rerun the script.",
        "// Tiny checkpoints in torch.save's exact zip layout (see the script for what each holds).",
        "",
        "enum TorchTestCheckpoints {",
        "    /// File name (without .pt) -> base64 of its bytes.",
        "    static let base64: [String: String] = [",
    ]
    for name, (data, _) in sorted(files.items()):
        encoded = base64.b64encode(data).decode()
        chunks = [encoded[i:i + 96] for i in range(0, len(encoded), 96)]
        lines.append(f'        "{name}": """')
        lines += ["            " + c for c in chunks]
        lines.append('            """,')
    lines += ["    ]", "}", ""]
    return "\n".join(lines)


VERIFY = r'''
import collections, io, json, os, sys, zipfile, torch
directory = sys.argv[1]
expected = json.load(open(os.path.join(directory, "expected.json")))
print("torch", torch.__version__)
for name, tensors in expected.items():
    path = os.path.join(directory, name + ".pt")
    if tensors is None:
        # Our reader refuses these; torch's own verdict is only reported (it accepts NEWOBJ).
        try:
            torch.load(path, weights_only=True)
            print(f"{name}: (torch.load accepts it)")
        except Exception as error:
            first_line = (str(error).splitlines() or [""])[0][:100]
            print(f"{name}: (torch.load refuses it too: {type(error).__name__}: {first_line})")
        continue
    obj = torch.load(path, weights_only=True)
    flat = collections.OrderedDict()
    def add(value, path):
        if isinstance(value, torch.Tensor): flat[".".join(path)] = value
        elif isinstance(value, dict): [add(v, path + [str(k)]) for k, v in value.items()]
        elif isinstance(value, (list, tuple)): [add(v, path + [str(i)]) for i, v in enumerate(value)]
    add(obj["state_dict"] if name == "nested" else obj, [])
    assert list(flat) == list(tensors), (name, list(flat), list(tensors))
    for key, want in tensors.items():
        t = flat[key]
        assert str(t.dtype) == "torch." + want["dtype"], (name, key, t.dtype)
        assert list(t.shape) == want["shape"], (name, key, t.shape)
        got = t.double().flatten().tolist() if t.dtype != torch.bool else t.flatten().tolist()
        assert all(a == b or (a != a and b != b) for a, b in zip(got, want["values"])) and len(got) == len(want["values"]), (name, key, got, want["values"])
    print(f"{name}: torch.load gives the expected {len(tensors)} tensors")

# Byte-for-byte: re-save the state_dict fixture with the real torch.save.
original = open(os.path.join(directory, "state_dict.pt"), "rb").read()
obj = torch.load(os.path.join(directory, "state_dict.pt"), weights_only=True)
resaved_path = os.path.join(directory, "resaved", "state_dict.pt")
os.makedirs(os.path.dirname(resaved_path), exist_ok=True)
torch.save(obj, resaved_path)
resaved = open(resaved_path, "rb").read()
sid = zipfile.ZipFile(resaved_path).read("state_dict/.data/serialization_id")
import struct, zlib
crc = lambda data: struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)
patched = resaved.replace(sid, b"0" * 40).replace(crc(sid), crc(b"0" * 40))
print("state_dict: real torch.save output is byte-identical (serialization id and its CRC aside):", patched == original)
sys.exit(0 if patched == original else 1)
'''


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--swift", default=os.path.join(root, "Tests/UniNLUCheckpointTests/TorchTestCheckpoints.swift"))
    parser.add_argument("--out", help="also write the .pt files and expected.json here")
    parser.add_argument("--verify-with-torch", action="store_true", help="check --out's files with real torch")
    args = parser.parse_args()

    files = build_all()
    with open(args.swift, "w") as f:
        f.write(swift_source(files))
    print(f"wrote {args.swift} ({len(files)} checkpoints, {sum(len(d) for d, _ in files.values())} bytes)")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for name, (data, _) in files.items():
            with open(os.path.join(args.out, name + ".pt"), "wb") as f:
                f.write(data)
        with open(os.path.join(args.out, "expected.json"), "w") as f:
            json.dump({name: exp for name, (_, exp) in files.items()}, f, indent=1)
        print(f"wrote the files to {args.out}")
    if args.verify_with_torch:
        if not args.out:
            sys.exit("--verify-with-torch needs --out")
        sys.exit(subprocess.call([sys.executable, "-c", VERIFY, args.out]))


if __name__ == "__main__":
    main()
