import Foundation
import UniNLUEngine

/// `--devices`: which devices get an engine replica, one per entry. Parsed before anything loads,
/// then checked against the resolved backend: on CUDA every entry must be a device this machine
/// has (each replica gets its own stream, weights and model thread on it; an index may repeat, so
/// "0,0" runs two replicas on GPU 0 whose host-side dispatch overlaps the other's kernels); on the
/// CPU backend each entry is one more CPU replica on the same cores (the index means nothing there).
public struct DeviceList: Sendable, Equatable {
    public let devices: [Int]

    /// Parses "0", "0,1", " 0 , 2 ", "0,0"; refuses empty, negative and non-numeric entries.
    public init(parsing text: String) throws {
        let entries = text.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        var list: [Int] = []
        for entry in entries {
            guard let index = Int(entry), index >= 0 else {
                throw ServeConfigurationError.invalidDevices(
                    "--devices takes comma-separated device indices (e.g. 0,1), found \"\(entry)\"")
            }
            list.append(index)
        }
        if list.isEmpty { throw ServeConfigurationError.invalidDevices("--devices lists no device") }
        devices = list
    }

    /// Checks the list against the resolved backend; `cudaDeviceCount` is what the driver reports
    /// (only read for `.cuda`).
    public func validate(backend: Backend, cudaDeviceCount: Int) throws {
        guard backend == .cuda else { return }
        var missing: [Int] = []
        for device in devices where device >= cudaDeviceCount && !missing.contains(device) { missing.append(device) }
        guard missing.isEmpty else {
            let have: String
            switch cudaDeviceCount {
            case 0: have = "no CUDA device"
            case 1: have = "1 CUDA device (0)"
            default: have = "\(cudaDeviceCount) CUDA devices (0...\(cudaDeviceCount - 1))"
            }
            throw ServeConfigurationError.invalidDevices(
                "--devices \(devices.map(String.init).joined(separator: ",")) names device"
                    + "\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")), but this machine has \(have)")
        }
    }
}
