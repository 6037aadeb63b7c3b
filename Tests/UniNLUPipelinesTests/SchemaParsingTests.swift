import Testing
import UniNLUCore
import UniNLUPipelines

@Suite("Schema parsing and limits")
struct SchemaParsingTests {
    @Test("object keys keep document order, nested objects become sub-schemas")
    func order() throws {
        let schema = try Schema.parse(json: #"{"组织机构": {"创始人(人物)": null, "成立时间(时间)": null}, "人物": null, "地点": null}"#)
        #expect(schema.labels == ["组织机构", "人物", "地点"])
        #expect(schema.children(of: "组织机构")?.labels == ["创始人(人物)", "成立时间(时间)"])
        #expect(schema.children(of: "人物") == nil)
        #expect(schema.depth == 2 && schema.nodeCount == 5)
    }

    @Test("a JSON string holding a schema and a list of labels are accepted")
    func forms() throws {
        let fromString = try Schema.parse(json: #""{\"人物\": null, \"组织机构\": null}""#)
        #expect(fromString == Schema(labels: ["人物", "组织机构"]))
        #expect(try Schema.parse(json: #"["出发地", "目的地"]"#) == Schema(labels: ["出发地", "目的地"]))
    }

    @Test("a repeated key keeps its first position and its last value, as Python's json")
    func duplicateKeys() throws {
        let schema = try Schema.parse(json: #"{"a": null, "b": null, "a": {"c": null}}"#)
        #expect(schema.labels == ["a", "b"])
        #expect(schema.children(of: "a")?.labels == ["c"])
    }

    @Test("wrong shapes are clear errors", arguments: [
        (#"{"a": "#, "not valid JSON"), (#"5"#, "found number"), (#"{"a": [1]}"#, "found array"),
        (#"["a", 1]"#, "list containing number"), (#""\"x\"""#, "doubly encoded"), (#"{"a": 1}"#, "found number"),
    ])
    func errors(json: String, message: String) {
        #expect {
            _ = try Schema.parse(json: json)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("limits name the limit and its flag")
    func limits() throws {
        var limits = InputLimits()
        limits.maxSchemaLabels = 3
        limits.maxSchemaDepth = 2
        limits.maxLabelLength = 5
        limits.maxTextLength = 4
        #expect(throws: SchemaError.tooManyLabels(count: 4, limit: 3)) { try Schema(labels: ["a", "b", "c", "d"]).validate(against: limits) }
        #expect(throws: SchemaError.tooDeep(depth: 3, limit: 2)) {
            try Schema.parse(json: #"{"a": {"b": {"c": null}}}"#).validate(against: limits)
        }
        #expect(throws: SchemaError.labelTooLong(label: "abcdef", length: 6, limit: 5)) { try Schema(labels: ["abcdef"]).validate(against: limits) }
        #expect(throws: SchemaError.textTooLong(length: 5, limit: 4)) { try limits.checkText("12345") }
        try limits.checkText("1234")
        // Code points, not UTF-16 units or bytes: one astral character counts once.
        try limits.checkText("𠮷𠮷𠮷𠮷")
    }

    @Test("JSON parser: escapes, surrogate pairs, depth limit, trailing garbage")
    func parser() throws {
        #expect(try JSONParser.parse(#""a\u00e9\ud842\udfb7\n""#) == .string("aé𠮷\n"))
        #expect(try JSONParser.parse("[1, -2.5e3, true, null]") == .array([.number(1), .number(-2500), .bool(true), .null]))
        #expect(throws: JSONParseError.self) { try JSONParser.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("{} x") }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("[01]") }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes: [0x22, 0xFF, 0x22]) }
        #expect(JSONValue.object([("a", .array([.number(1), .string("中\"")]))]).serialized() == #"{"a": [1, "中\""]}"#)
    }
}
