import Testing

/// Every suite of this target runs inside this one, one test at a time: the tests start real
/// servers and time real requests, and two cores shared with a parallel run make them flaky.
@Suite("UniNLUServer", .serialized)
enum ServerTests {}
