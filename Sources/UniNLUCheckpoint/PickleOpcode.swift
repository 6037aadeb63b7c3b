// Every opcode of Python's pickle protocols 0-5 (as listed by CPython's `pickletools`), so that
// errors can name the opcode a file used. `RestrictedUnpickler` interprets only a subset of these.

enum PickleOpcode: UInt8, CaseIterable {
    case mark = 0x28  // '(' MARK, protocol 0
    case emptyTuple = 0x29  // ')' EMPTY_TUPLE, protocol 1
    case stop = 0x2e  // '.' STOP, protocol 0
    case pop = 0x30  // '0' POP, protocol 0
    case popMark = 0x31  // '1' POP_MARK, protocol 1
    case dup = 0x32  // '2' DUP, protocol 0
    case binbytes = 0x42  // 'B' BINBYTES, protocol 3
    case shortBinbytes = 0x43  // 'C' SHORT_BINBYTES, protocol 3
    case float = 0x46  // 'F' FLOAT, protocol 0
    case binfloat = 0x47  // 'G' BINFLOAT, protocol 1
    case int = 0x49  // 'I' INT, protocol 0
    case binint = 0x4a  // 'J' BININT, protocol 1
    case binint1 = 0x4b  // 'K' BININT1, protocol 1
    case long = 0x4c  // 'L' LONG, protocol 0
    case binint2 = 0x4d  // 'M' BININT2, protocol 1
    case pushNone = 0x4e  // 'N' NONE, protocol 0 (not `none`: that would shadow Optional.none)
    case persid = 0x50  // 'P' PERSID, protocol 0
    case binpersid = 0x51  // 'Q' BINPERSID, protocol 1
    case reduce = 0x52  // 'R' REDUCE, protocol 0
    case string = 0x53  // 'S' STRING, protocol 0
    case binstring = 0x54  // 'T' BINSTRING, protocol 1
    case shortBinstring = 0x55  // 'U' SHORT_BINSTRING, protocol 1
    case unicode = 0x56  // 'V' UNICODE, protocol 0
    case binunicode = 0x58  // 'X' BINUNICODE, protocol 1
    case emptyList = 0x5d  // ']' EMPTY_LIST, protocol 1
    case append = 0x61  // 'a' APPEND, protocol 0
    case build = 0x62  // 'b' BUILD, protocol 0
    case global = 0x63  // 'c' GLOBAL, protocol 0
    case dict = 0x64  // 'd' DICT, protocol 0
    case appends = 0x65  // 'e' APPENDS, protocol 1
    case get = 0x67  // 'g' GET, protocol 0
    case binget = 0x68  // 'h' BINGET, protocol 1
    case inst = 0x69  // 'i' INST, protocol 0
    case longBinget = 0x6a  // 'j' LONG_BINGET, protocol 1
    case list = 0x6c  // 'l' LIST, protocol 0
    case obj = 0x6f  // 'o' OBJ, protocol 1
    case put = 0x70  // 'p' PUT, protocol 0
    case binput = 0x71  // 'q' BINPUT, protocol 1
    case longBinput = 0x72  // 'r' LONG_BINPUT, protocol 1
    case setitem = 0x73  // 's' SETITEM, protocol 0
    case tuple = 0x74  // 't' TUPLE, protocol 0
    case setitems = 0x75  // 'u' SETITEMS, protocol 1
    case emptyDict = 0x7d  // '}' EMPTY_DICT, protocol 1
    case proto = 0x80  // '\x80' PROTO, protocol 2
    case newobj = 0x81  // '\x81' NEWOBJ, protocol 2
    case ext1 = 0x82  // '\x82' EXT1, protocol 2
    case ext2 = 0x83  // '\x83' EXT2, protocol 2
    case ext4 = 0x84  // '\x84' EXT4, protocol 2
    case tuple1 = 0x85  // '\x85' TUPLE1, protocol 2
    case tuple2 = 0x86  // '\x86' TUPLE2, protocol 2
    case tuple3 = 0x87  // '\x87' TUPLE3, protocol 2
    case newtrue = 0x88  // '\x88' NEWTRUE, protocol 2
    case newfalse = 0x89  // '\x89' NEWFALSE, protocol 2
    case long1 = 0x8a  // '\x8a' LONG1, protocol 2
    case long4 = 0x8b  // '\x8b' LONG4, protocol 2
    case shortBinunicode = 0x8c  // '\x8c' SHORT_BINUNICODE, protocol 4
    case binunicode8 = 0x8d  // '\x8d' BINUNICODE8, protocol 4
    case binbytes8 = 0x8e  // '\x8e' BINBYTES8, protocol 4
    case emptySet = 0x8f  // '\x8f' EMPTY_SET, protocol 4
    case additems = 0x90  // '\x90' ADDITEMS, protocol 4
    case frozenset = 0x91  // '\x91' FROZENSET, protocol 4
    case newobjEx = 0x92  // '\x92' NEWOBJ_EX, protocol 4
    case stackGlobal = 0x93  // '\x93' STACK_GLOBAL, protocol 4
    case memoize = 0x94  // '\x94' MEMOIZE, protocol 4
    case frame = 0x95  // '\x95' FRAME, protocol 4
    case bytearray8 = 0x96  // '\x96' BYTEARRAY8, protocol 5
    case nextBuffer = 0x97  // '\x97' NEXT_BUFFER, protocol 5
    case readonlyBuffer = 0x98  // '\x98' READONLY_BUFFER, protocol 5
}

enum PickleOpcodeNames {
    /// The CPython name of an opcode byte ("GLOBAL", "BINUNICODE"), or nil when no protocol uses it.
    static func name(of byte: UInt8) -> String? {
        PickleOpcode(rawValue: byte).map { upstreamName($0) }
    }

    // Spelled out because the Swift case names cannot be mapped back mechanically.
    private static func upstreamName(_ op: PickleOpcode) -> String {
        switch op {
        case .mark: return "MARK"
        case .emptyTuple: return "EMPTY_TUPLE"
        case .stop: return "STOP"
        case .pop: return "POP"
        case .popMark: return "POP_MARK"
        case .dup: return "DUP"
        case .binbytes: return "BINBYTES"
        case .shortBinbytes: return "SHORT_BINBYTES"
        case .float: return "FLOAT"
        case .binfloat: return "BINFLOAT"
        case .int: return "INT"
        case .binint: return "BININT"
        case .binint1: return "BININT1"
        case .long: return "LONG"
        case .binint2: return "BININT2"
        case .pushNone: return "NONE"
        case .persid: return "PERSID"
        case .binpersid: return "BINPERSID"
        case .reduce: return "REDUCE"
        case .string: return "STRING"
        case .binstring: return "BINSTRING"
        case .shortBinstring: return "SHORT_BINSTRING"
        case .unicode: return "UNICODE"
        case .binunicode: return "BINUNICODE"
        case .emptyList: return "EMPTY_LIST"
        case .append: return "APPEND"
        case .build: return "BUILD"
        case .global: return "GLOBAL"
        case .dict: return "DICT"
        case .appends: return "APPENDS"
        case .get: return "GET"
        case .binget: return "BINGET"
        case .inst: return "INST"
        case .longBinget: return "LONG_BINGET"
        case .list: return "LIST"
        case .obj: return "OBJ"
        case .put: return "PUT"
        case .binput: return "BINPUT"
        case .longBinput: return "LONG_BINPUT"
        case .setitem: return "SETITEM"
        case .tuple: return "TUPLE"
        case .setitems: return "SETITEMS"
        case .emptyDict: return "EMPTY_DICT"
        case .proto: return "PROTO"
        case .newobj: return "NEWOBJ"
        case .ext1: return "EXT1"
        case .ext2: return "EXT2"
        case .ext4: return "EXT4"
        case .tuple1: return "TUPLE1"
        case .tuple2: return "TUPLE2"
        case .tuple3: return "TUPLE3"
        case .newtrue: return "NEWTRUE"
        case .newfalse: return "NEWFALSE"
        case .long1: return "LONG1"
        case .long4: return "LONG4"
        case .shortBinunicode: return "SHORT_BINUNICODE"
        case .binunicode8: return "BINUNICODE8"
        case .binbytes8: return "BINBYTES8"
        case .emptySet: return "EMPTY_SET"
        case .additems: return "ADDITEMS"
        case .frozenset: return "FROZENSET"
        case .newobjEx: return "NEWOBJ_EX"
        case .stackGlobal: return "STACK_GLOBAL"
        case .memoize: return "MEMOIZE"
        case .frame: return "FRAME"
        case .bytearray8: return "BYTEARRAY8"
        case .nextBuffer: return "NEXT_BUFFER"
        case .readonlyBuffer: return "READONLY_BUFFER"
        }
    }
}
