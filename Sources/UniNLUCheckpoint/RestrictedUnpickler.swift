// A pickle interpreter that understands only what torch.save writes for a dict of tensors, and
// never imports or executes anything.
//
// Pickle is a little stack machine: each opcode byte (see PickleOpcode.swift) pushes a value,
// builds a container from values above the last MARK, stores/fetches values in a memo, or
// "calls" a global (REDUCE = pop args tuple and callable, push callable(*args)). torch.save
// (protocol 2) emits, per tensor:
//     GLOBAL 'torch._utils _rebuild_tensor_v2'
//     ( ('storage', GLOBAL 'torch FloatStorage', key, location, numel) BINPERSID
//       storage_offset, (sizes...), (strides...), requires_grad, OrderedDict() ) REDUCE
// where BINPERSID turns the tuple into a reference to the archive entry `data/<key>`. A state
// dict is `collections.OrderedDict` (REDUCE with ()), filled by SETITEMS, then BUILD with
// {'_metadata': ...}.
//
// Here "calling" is emulated for an allow-list of globals only: OrderedDict makes an empty dict,
// the rebuild functions make a `TorchTensorRef` after validating it against its storage, and
// storage classes only tag persistent ids with a dtype. Any other global or opcode stops the
// interpretation with an error naming it and its byte position.

import Foundation

/// One storage record of a torch zip archive, as named by a persistent id.
struct TorchStorageRef: Sendable, Equatable {
    let key: String
    let dtype: TensorDType
    let elementCount: Int
}

/// A tensor as torch describes it: a strided view into a storage. Sizes, strides and offset are
/// in elements and have been checked to stay inside the storage.
struct TorchTensorRef: Sendable {
    let storage: TorchStorageRef
    let storageOffset: Int
    let shape: [Int]
    let strides: [Int]
}

/// The Python callables and classes a checkpoint may name.
enum AllowedGlobal: Equatable {
    case orderedDict
    case rebuildTensorV2
    case rebuildParameter
    case rebuildParameterWithState
    case storageClass(TensorDType)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch", _):
            guard let dtype = TensorDType(torchStorageClass: name) else { return nil }
            self = .storageClass(dtype)
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case let .storageClass(dtype): return "torch.\(dtype.torchStorageClass)"
        }
    }
}

/// Dict keys a checkpoint uses: strings, and ints in some nested training checkpoints.
enum PickleKey: Hashable {
    case string(String)
    case int(Int)

    var text: String {
        switch self {
        case let .string(s): return s
        case let .int(i): return String(i)
        }
    }
}

/// Lists and dicts are reference types because pickle mutates them after they were memoized.
final class PickleList {
    var items: [PickleValue] = []
}

final class PickleDict {
    private(set) var keys: [PickleKey] = []
    private(set) var values: [PickleKey: PickleValue] = [:]

    /// Python semantics: a repeated key keeps its first position and takes the new value.
    func set(_ key: PickleKey, _ value: PickleValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }

    var entries: [(key: PickleKey, value: PickleValue)] {
        keys.compactMap { key in values[key].map { (key, $0) } }
    }
}

indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    case global(AllowedGlobal)
    case storage(TorchStorageRef)
    case tensor(TorchTensorRef)

    var kindName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case let .global(g): return g.qualifiedName
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

struct RestrictedUnpickler {
    let bytes: [UInt8]
    /// Path of the checkpoint and name of the pickle inside it, for error messages.
    let file: String
    let entry: String

    private var position = 0
    private var stack: [PickleValue] = []
    /// Stack heights at each open MARK.
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Offset of the opcode being interpreted, for error messages.
    private var opcodePosition = 0

    init(bytes: [UInt8], file: String, entry: String) {
        self.bytes = bytes
        self.file = file
        self.entry = entry
    }

    /// Interprets the whole pickle and returns the value STOP leaves.
    mutating func load() throws -> PickleValue {
        while true {
            opcodePosition = position
            guard position < bytes.count else { throw malformed("the pickle ends without a STOP opcode (truncated)") }
            let byte = bytes[position]
            position += 1
            guard let opcode = PickleOpcode(rawValue: byte) else { throw unsupported(byte) }
            switch opcode {
            case .proto:
                let version = try readByte()
                guard version <= 5 else { throw malformed("unknown pickle protocol \(version)") }
            case .frame:
                _ = try readBytes(8)  // protocol 4 framing is only a read-ahead hint
            case .stop:
                guard stack.count == 1, marks.isEmpty else {
                    throw malformed("STOP with \(stack.count) values on the stack and \(marks.count) open marks")
                }
                return stack[0]
            case .mark:
                marks.append(stack.count)
            case .emptyDict:
                stack.append(.dict(PickleDict()))
            case .emptyList:
                stack.append(.list(PickleList()))
            case .emptyTuple:
                stack.append(.tuple([]))
            case .pushNone:
                stack.append(.none)
            case .newtrue:
                stack.append(.bool(true))
            case .newfalse:
                stack.append(.bool(false))
            case .binint:
                stack.append(.int(Int(Int32(bitPattern: try readUInt32()))))
            case .binint1:
                stack.append(.int(Int(try readByte())))
            case .binint2:
                let low = Int(try readByte())
                stack.append(.int(low | Int(try readByte()) << 8))
            case .long1:
                stack.append(.int(try readLong(length: Int(try readByte()))))
            case .long4:
                stack.append(.int(try readLong(length: Int(Int32(bitPattern: try readUInt32())))))
            case .binfloat:
                // The only big-endian field in pickle.
                let raw = try readBytes(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                stack.append(.float(Double(bitPattern: raw)))
            case .binunicode:
                stack.append(.string(try readString(length: Int(try readUInt32()))))
            case .shortBinunicode:
                stack.append(.string(try readString(length: Int(try readByte()))))
            case .binunicode8:
                let length = try readUInt64()
                guard length <= UInt64(bytes.count) else { throw malformed("string length \(length) exceeds the pickle") }
                stack.append(.string(try readString(length: Int(length))))
            case .tuple:
                stack.append(.tuple(try popToMark()))
            case .tuple1, .tuple2, .tuple3:
                let count = Int(opcode.rawValue - PickleOpcode.tuple1.rawValue) + 1
                stack.append(.tuple(try pop(count)))
            case .append:
                let value = try pop()
                try topList().items.append(value)
            case .appends:
                let values = try popToMark()
                try topList().items.append(contentsOf: values)
            case .setitem:
                let pair = try pop(2)
                try topDict().set(try key(pair[0]), pair[1])
            case .setitems:
                let items = try popToMark()
                guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of values") }
                let dict = try topDict()
                for index in stride(from: 0, to: items.count, by: 2) {
                    dict.set(try key(items[index]), items[index + 1])
                }
            case .binput:
                try memoize(at: Int(try readByte()))
            case .longBinput:
                try memoize(at: Int(try readUInt32()))
            case .memoize:
                try memoize(at: memo.count)
            case .binget:
                try fetch(Int(try readByte()))
            case .longBinget:
                try fetch(Int(try readUInt32()))
            case .global:
                let module = try readLine()
                let name = try readLine()
                stack.append(.global(try resolve(module: module, name: name)))
            case .stackGlobal:
                let pair = try pop(2)
                guard case let .string(module) = pair[0], case let .string(name) = pair[1] else {
                    throw malformed("STACK_GLOBAL needs two strings, got \(pair[0].kindName) and \(pair[1].kindName)")
                }
                stack.append(.global(try resolve(module: module, name: name)))
            case .reduce:
                let pair = try pop(2)
                guard case let .global(callable) = pair[0] else {
                    throw malformed("REDUCE applied to a \(pair[0].kindName), which is not callable")
                }
                guard case let .tuple(arguments) = pair[1] else {
                    throw malformed("REDUCE needs an argument tuple, got \(pair[1].kindName)")
                }
                stack.append(try call(callable, arguments))
            case .build:
                let state = try pop()
                guard let target = stack.last else { throw malformed("BUILD with nothing to build") }
                switch target {
                case .dict, .tensor:
                    // A state dict's `_metadata` (module versions) or a parameter's Python
                    // attributes: neither changes the weights, so the state is dropped.
                    _ = state
                default:
                    throw malformed("BUILD on a \(target.kindName), which a checkpoint never does")
                }
            case .binpersid:
                stack.append(try persistentLoad(try pop()))
            default:
                throw unsupported(byte)
            }
        }
    }

    // MARK: - Errors

    private func malformed(_ reason: String) -> CheckpointError {
        .malformedPickle(file: file, entry: entry, reason: reason, position: opcodePosition)
    }

    private func unsupported(_ byte: UInt8) -> CheckpointError {
        .unsupportedPickleOpcode(file: file, entry: entry, opcode: byte, position: opcodePosition)
    }

    // MARK: - Reading operands

    private mutating func readBytes(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - position else {
            throw malformed("the operand needs \(bytesText(count)) but the pickle ends first (truncated)")
        }
        defer { position += count }
        return bytes[position ..< position + count]
    }

    private mutating func readByte() throws -> UInt8 {
        try readBytes(1).first ?? 0
    }

    private mutating func readUInt32() throws -> UInt32 {
        try readBytes(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    private mutating func readUInt64() throws -> UInt64 {
        try readBytes(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// LONG1/LONG4: a little-endian two's-complement integer of `length` bytes.
    private mutating func readLong(length: Int) throws -> Int {
        guard length >= 0, length <= 8 else {
            throw malformed("an integer of \(length) bytes does not fit 64 bits")
        }
        let raw = try readBytes(length)
        guard let last = raw.last else { return 0 }
        var value: UInt64 = last & 0x80 != 0 ? .max : 0  // sign extension
        for byte in raw.reversed() { value = value << 8 | UInt64(byte) }
        return Int(Int64(bitPattern: value))
    }

    private mutating func readString(length: Int) throws -> String {
        let raw = try readBytes(length)
        guard let string = String(bytes: raw, encoding: .utf8) else {
            throw malformed("a string is not valid UTF-8")
        }
        return string
    }

    /// GLOBAL's operands: text up to a newline.
    private mutating func readLine() throws -> String {
        guard let newline = bytes[position...].firstIndex(of: 0x0A) else {
            throw malformed("GLOBAL's name is not terminated by a newline (truncated)")
        }
        let line = String(decoding: bytes[position ..< newline], as: UTF8.self)
        position = newline + 1
        return line
    }

    // MARK: - Stack, marks and memo

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (marks.last ?? 0) else {
            throw malformed("stack underflow")
        }
        return value
    }

    private mutating func pop(_ count: Int) throws -> [PickleValue] {
        guard stack.count - count >= (marks.last ?? 0) else { throw malformed("stack underflow") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw malformed("an opcode needs a MARK but none is open") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func topList() throws -> PickleList {
        guard case let .list(list)? = stack.last else {
            throw malformed("APPEND(S) needs a list below its values, found \(stack.last?.kindName ?? "nothing")")
        }
        return list
    }

    private func topDict() throws -> PickleDict {
        guard case let .dict(dict)? = stack.last else {
            throw malformed("SETITEM(S) needs a dict below its values, found \(stack.last?.kindName ?? "nothing")")
        }
        return dict
    }

    private func key(_ value: PickleValue) throws -> PickleKey {
        switch value {
        case let .string(s): return .string(s)
        case let .int(i): return .int(i)
        default: throw malformed("a dict key is a \(value.kindName); checkpoints use str or int keys")
        }
    }

    private mutating func memoize(at index: Int) throws {
        guard let top = stack.last else { throw malformed("PUT with an empty stack") }
        memo[index] = top
    }

    private mutating func fetch(_ index: Int) throws {
        guard let value = memo[index] else { throw malformed("GET of memo slot \(index), which was never stored") }
        stack.append(value)
    }

    // MARK: - Globals and calls

    private func resolve(module: String, name: String) throws -> AllowedGlobal {
        guard let global = AllowedGlobal(module: module, name: name) else {
            let shown = "\(module).\(name)".prefix(200)
            throw CheckpointError.forbiddenPickleGlobal(file: file, entry: entry, global: String(shown),
                                                        position: opcodePosition)
        }
        return global
    }

    private func call(_ callable: AllowedGlobal, _ arguments: [PickleValue]) throws -> PickleValue {
        switch callable {
        case .orderedDict:
            let dict = PickleDict()
            if let items = arguments.first {
                // OrderedDict([(k, v), ...]) — never written by torch, but harmless.
                let pairs: [PickleValue]
                switch items {
                case let .list(list): pairs = list.items
                case let .tuple(tuple): pairs = tuple
                default: throw malformed("OrderedDict() takes a list of pairs, got \(items.kindName)")
                }
                for pair in pairs {
                    guard case let .tuple(kv) = pair, kv.count == 2 else { throw malformed("OrderedDict() item is not a pair") }
                    dict.set(try key(kv[0]), kv[1])
                }
            }
            guard arguments.count <= 1 else { throw malformed("OrderedDict() with \(arguments.count) arguments") }
            return .dict(dict)
        case .rebuildTensorV2:
            return .tensor(try rebuildTensor(arguments))
        case .rebuildParameter, .rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]): the weights are `data`.
            let expected = callable == .rebuildParameter ? 3 : 4
            guard arguments.count == expected, case let .tensor(tensor) = arguments[0] else {
                throw malformed("\(callable.qualifiedName) needs \(expected) arguments starting with a tensor")
            }
            return .tensor(tensor)
        case .storageClass:
            throw malformed("\(callable.qualifiedName) is called, but a checkpoint only names it in a storage id")
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    private func rebuildTensor(_ arguments: [PickleValue]) throws -> TorchTensorRef {
        guard arguments.count == 6 || arguments.count == 7 else {
            throw malformed("_rebuild_tensor_v2 takes 6 or 7 arguments, got \(arguments.count)")
        }
        guard case let .storage(storage) = arguments[0] else {
            throw malformed("_rebuild_tensor_v2's first argument is a \(arguments[0].kindName), not a storage")
        }
        guard case let .int(offset) = arguments[1], offset >= 0 else {
            throw malformed("_rebuild_tensor_v2's storage offset is not a non-negative int")
        }
        let shape = try intTuple(arguments[2], what: "size")
        let strides = try intTuple(arguments[3], what: "stride")
        guard shape.count == strides.count else {
            throw malformed("tensor size \(shape) and stride \(strides) have different ranks")
        }
        guard checkedElementCount(shape) != nil else {
            throw malformed("tensor size \(shape) overflows")
        }
        // The view must stay inside its storage: the last element it touches is
        // offset + sum((size_i - 1) * stride_i).
        var last = offset
        if !shape.contains(0) {
            for (size, stride) in zip(shape, strides) {
                let (step, overflow1) = (size - 1).multipliedReportingOverflow(by: stride)
                let (sum, overflow2) = last.addingReportingOverflow(step)
                guard !overflow1, !overflow2 else { throw malformed("tensor size \(shape) with stride \(strides) overflows") }
                last = sum
            }
            guard last < storage.elementCount else {
                throw malformed("a tensor view (offset \(offset), size \(shape), stride \(strides)) reaches element \(last) of storage '\(storage.key)', which holds \(storage.elementCount)")
            }
        } else if offset > storage.elementCount {
            throw malformed("an empty tensor starts at element \(offset) of storage '\(storage.key)', which holds \(storage.elementCount)")
        }
        return TorchTensorRef(storage: storage, storageOffset: offset, shape: shape, strides: strides)
    }

    private func intTuple(_ value: PickleValue, what: String) throws -> [Int] {
        guard case let .tuple(items) = value else {
            throw malformed("tensor \(what) is a \(value.kindName), not a tuple")
        }
        return try items.map { item in
            guard case let .int(number) = item, number >= 0 else {
                throw malformed("tensor \(what) holds \(item.kindName) values or negatives, not sizes")
            }
            return number
        }
    }

    /// torch's persistent id: ('storage', storage class, key, location, element count).
    private func persistentLoad(_ id: PickleValue) throws -> PickleValue {
        guard case let .tuple(fields) = id, fields.count == 5, case .string("storage") = fields[0] else {
            throw malformed("a persistent id is not torch's ('storage', type, key, location, numel) tuple")
        }
        guard case let .global(.storageClass(dtype)) = fields[1] else {
            throw malformed("a persistent id names \(fields[1].kindName), not a torch storage class")
        }
        guard case let .string(key) = fields[2], case .string = fields[3],
              case let .int(count) = fields[4], count >= 0 else {
            throw malformed("a persistent id has a malformed key, location or element count")
        }
        return .storage(TorchStorageRef(key: key, dtype: dtype, elementCount: count))
    }
}
