import Hummingbird
import UniNLUCore

// Responses are written with the order-preserving JSONValue (schema order is output order; non-
// ASCII written as is, like Python's json.dumps(ensure_ascii=False)).

extension Response {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized())))
    }
}
