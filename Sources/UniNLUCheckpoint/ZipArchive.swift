// A read-only view of a ZIP archive held in memory (normally a memory-mapped file), made for
// torch.save checkpoints.
//
// Format (PKWARE APPNOTE), all integers little-endian:
//   [local file header 0x04034b50: 30 bytes + name + extra][entry data] ...   one per entry
//   [central directory header 0x02014b50: 46 bytes + name + extra + comment] ... one per entry
//   [zip64 end of central directory record 0x06064b50 + locator 0x07064b50]     only when needed
//   [end of central directory record 0x06054b50: 22 bytes + comment]
// The central directory is authoritative for sizes and the local header's offset; the local
// header is read only for its own name and extra-field lengths, which give where the data starts
// (torch pads the local extra field so every storage starts 64-byte aligned). Fields that do not
// fit 32 bits are 0xFFFFFFFF and live in the zip64 extra field (id 0x0001).
//
// torch.save stores every entry uncompressed, so a stored entry is returned as a slice of the
// mapped file: no copy. A deflated entry (an archive re-zipped by another tool) is inflated with
// ZIPFoundation. Every read is bounds-checked: a damaged or truncated archive gives
// `CheckpointError.corruptFile`, never a trap. CRC-32s are not verified for stored entries (it
// would mean reading all weights twice); truncation and damaged structure are still caught.

import Foundation
import ZIPFoundation

struct ZipEntry: Sendable {
    let name: String
    /// 0 = stored, 8 = deflated.
    let method: UInt16
    let compressedSize: Int
    let uncompressedSize: Int
    /// Absolute offset of the entry's first data byte in the archive.
    let dataOffset: Int
}

struct ZipArchive: Sendable {
    let data: Data
    let file: String
    /// Entries in central-directory order.
    let entries: [ZipEntry]
    private let indexByName: [String: Int]

    private static let localHeaderSignature: UInt32 = 0x0403_4b50
    private static let centralHeaderSignature: UInt32 = 0x0201_4b50
    private static let endSignature: UInt32 = 0x0605_4b50
    private static let zip64EndSignature: UInt32 = 0x0606_4b50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4b50

    init(data: Data, file: String) throws {
        self.data = data
        self.file = file
        func corrupt(_ reason: String) -> CheckpointError { .corruptFile(file: file, reason: reason) }

        let end = try Self.findEndRecord(data, corrupt: corrupt)
        guard let diskNumber = data.readLE(UInt16.self, at: end + 4),
              let directoryDisk = data.readLE(UInt16.self, at: end + 6),
              let entryCount16 = data.readLE(UInt16.self, at: end + 10),
              let directorySize32 = data.readLE(UInt32.self, at: end + 12),
              let directoryOffset32 = data.readLE(UInt32.self, at: end + 16)
        else { throw corrupt("the zip end-of-central-directory record is cut off") }
        guard diskNumber == 0, directoryDisk == 0 else {
            throw corrupt("the zip archive spans several disks, which torch never writes")
        }
        var entryCount = UInt64(entryCount16)
        var directorySize = UInt64(directorySize32)
        var directoryOffset = UInt64(directoryOffset32)
        // The directory must end where the end records begin.
        var directoryLimit = end

        if end >= 20, data.readLE(UInt32.self, at: end - 20) == Self.zip64LocatorSignature {
            guard let recordOffset64 = data.readLE(UInt64.self, at: end - 20 + 8),
                  let recordOffset = Int(exactly: recordOffset64),
                  data.readLE(UInt32.self, at: recordOffset) == Self.zip64EndSignature,
                  let count64 = data.readLE(UInt64.self, at: recordOffset + 32),
                  let size64 = data.readLE(UInt64.self, at: recordOffset + 40),
                  let offset64 = data.readLE(UInt64.self, at: recordOffset + 48)
            else { throw corrupt("the zip64 end-of-central-directory record is missing or cut off") }
            entryCount = count64
            directorySize = size64
            directoryOffset = offset64
            directoryLimit = recordOffset
        }

        guard let start = Int(exactly: directoryOffset), let size = Int(exactly: directorySize),
              start <= directoryLimit, size <= directoryLimit - start
        else {
            throw corrupt("the zip central directory (offset \(directoryOffset), \(directorySize) bytes) lies outside the \(bytesText(data.count)) file")
        }
        // Each central header is at least 46 bytes: a larger count is a lie, not a reason to loop.
        guard entryCount <= UInt64(size / 46) else {
            throw corrupt("the zip directory claims \(entryCount) entries but has room for at most \(size / 46)")
        }

        var entries: [ZipEntry] = []
        entries.reserveCapacity(Int(entryCount))
        var indexByName: [String: Int] = [:]
        var cursor = start
        for number in 0 ..< Int(entryCount) {
            let entry = try Self.readCentralHeader(data, at: cursor, limit: start + size, number: number,
                                                   corrupt: corrupt)
            guard indexByName[entry.header.name] == nil else {
                throw corrupt("the zip archive holds '\(entry.header.name)' twice")
            }
            indexByName[entry.header.name] = entries.count
            entries.append(entry.header)
            cursor = entry.next
        }
        self.entries = entries
        self.indexByName = indexByName
    }

    func entry(named name: String) -> ZipEntry? {
        indexByName[name].map { entries[$0] }
    }

    /// The entry's uncompressed bytes: a slice of the archive for stored entries, inflated for
    /// deflated ones.
    func contents(of entry: ZipEntry) throws -> Data {
        switch entry.method {
        case 0:
            guard let bytes = data.slice(offset: entry.dataOffset, length: entry.compressedSize) else {
                throw CheckpointError.corruptFile(file: file, reason: "zip entry '\(entry.name)' is cut off")
            }
            return bytes
        case 8:
            return try inflate(entry)
        default:
            throw CheckpointError.corruptFile(
                file: file,
                reason: "zip entry '\(entry.name)' uses compression method \(entry.method); only stored (0) and deflated (8) entries can be read")
        }
    }

    private func inflate(_ entry: ZipEntry) throws -> Data {
        do {
            let archive = try Archive(data: data, accessMode: .read)
            guard let zipEntry = archive[entry.name] else {
                throw CheckpointError.corruptFile(file: file, reason: "zip entry '\(entry.name)' could not be located for inflating")
            }
            var output = Data()
            output.reserveCapacity(entry.uncompressedSize)
            _ = try archive.extract(zipEntry) { output.append($0) }
            guard output.count == entry.uncompressedSize else {
                throw CheckpointError.corruptFile(
                    file: file,
                    reason: "zip entry '\(entry.name)' inflated to \(bytesText(output.count)), not the \(entry.uncompressedSize) its header gives")
            }
            return output
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.corruptFile(file: file, reason: "zip entry '\(entry.name)' could not be inflated (\(error))")
        }
    }

    /// The offset of the end-of-central-directory record: the last signature that is followed by
    /// exactly its comment. The comment is at most 65535 bytes, which bounds the search.
    private static func findEndRecord(_ data: Data, corrupt: (String) -> CheckpointError) throws -> Int {
        guard data.count >= 22 else {
            throw corrupt("the file is only \(bytesText(data.count)), too short for a zip archive")
        }
        let lowest = max(0, data.count - 22 - 0xFFFF)
        var position = data.count - 22
        while position >= lowest {
            if data.readLE(UInt32.self, at: position) == endSignature,
               let commentLength = data.readLE(UInt16.self, at: position + 20),
               position + 22 + Int(commentLength) == data.count {
                return position
            }
            position -= 1
        }
        throw corrupt("no zip end-of-central-directory record at the end of the file; it was cut off while copying or downloading")
    }

    private static func readCentralHeader(
        _ data: Data, at offset: Int, limit: Int, number: Int, corrupt: (String) -> CheckpointError
    ) throws -> (header: ZipEntry, next: Int) {
        guard offset <= limit - 46, data.readLE(UInt32.self, at: offset) == centralHeaderSignature,
              let flags = data.readLE(UInt16.self, at: offset + 8),
              let method = data.readLE(UInt16.self, at: offset + 10),
              let compressed32 = data.readLE(UInt32.self, at: offset + 20),
              let uncompressed32 = data.readLE(UInt32.self, at: offset + 24),
              let nameLength = data.readLE(UInt16.self, at: offset + 28),
              let extraLength = data.readLE(UInt16.self, at: offset + 30),
              let commentLength = data.readLE(UInt16.self, at: offset + 32),
              let localOffset32 = data.readLE(UInt32.self, at: offset + 42)
        else { throw corrupt("zip central directory entry #\(number) is damaged") }
        let next = offset + 46 + Int(nameLength) + Int(extraLength) + Int(commentLength)
        guard next <= limit, let nameBytes = data.slice(offset: offset + 46, length: Int(nameLength)),
              let extra = data.slice(offset: offset + 46 + Int(nameLength), length: Int(extraLength))
        else { throw corrupt("zip central directory entry #\(number) runs past the directory") }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard flags & 0x1 == 0 else { throw corrupt("zip entry '\(name)' is encrypted") }

        // Zip64: each 32-bit field that reads 0xFFFFFFFF has its real value, in this order, in
        // the zip64 extra field.
        var uncompressed = UInt64(uncompressed32)
        var compressed = UInt64(compressed32)
        var localOffset = UInt64(localOffset32)
        if uncompressed32 == .max || compressed32 == .max || localOffset32 == .max {
            guard var values = zip64Values(extra) else {
                throw corrupt("zip entry '\(name)' lacks the zip64 sizes its header announces")
            }
            func nextValue() throws -> UInt64 {
                guard !values.isEmpty else {
                    throw corrupt("zip entry '\(name)' has a short zip64 extra field")
                }
                return values.removeFirst()
            }
            if uncompressed32 == .max { uncompressed = try nextValue() }
            if compressed32 == .max { compressed = try nextValue() }
            if localOffset32 == .max { localOffset = try nextValue() }
        }

        guard let local = Int(exactly: localOffset), let compressedSize = Int(exactly: compressed),
              let uncompressedSize = Int(exactly: uncompressed),
              data.readLE(UInt32.self, at: local) == localHeaderSignature,
              let localNameLength = data.readLE(UInt16.self, at: local + 26),
              let localExtraLength = data.readLE(UInt16.self, at: local + 28)
        else { throw corrupt("the local header of zip entry '\(name)' is missing or damaged") }
        let dataOffset = local + 30 + Int(localNameLength) + Int(localExtraLength)
        guard dataOffset <= data.count, compressedSize <= data.count - dataOffset else {
            throw corrupt("zip entry '\(name)' needs \(bytesText(compressedSize)) at offset \(dataOffset), past the end of the \(bytesText(data.count)) file")
        }
        if method == 0, compressedSize != uncompressedSize {
            throw corrupt("stored zip entry '\(name)' has different compressed and uncompressed sizes")
        }
        let entry = ZipEntry(name: name, method: method, compressedSize: compressedSize,
                             uncompressedSize: uncompressedSize, dataOffset: dataOffset)
        return (entry, next)
    }

    /// The 64-bit values of the zip64 extra field (id 0x0001), or nil when there is none.
    private static func zip64Values(_ extra: Data) -> [UInt64]? {
        var position = 0
        while let id = extra.readLE(UInt16.self, at: position),
              let length = extra.readLE(UInt16.self, at: position + 2) {
            let body = position + 4
            if id == 0x0001 {
                var values: [UInt64] = []
                var valueOffset = body
                while valueOffset + 8 <= body + Int(length), let value = extra.readLE(UInt64.self, at: valueOffset) {
                    values.append(value)
                    valueOffset += 8
                }
                return values
            }
            position = body + Int(length)
        }
        return nil
    }
}
