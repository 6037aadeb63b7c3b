import UniNLUCore

// Upstream windowing (siamese_uie_pipeline.py L131-150): windows start every `stride` tokens and
// hold at most `length`; only window 0 has [CLS], only the last has [SEP]. A single window is left
// unpadded; with several, the last is padded to `length` with id 0 and mask 0.

enum TextWindows {
    static func split(ids: [Int32], length: Int, stride: Int) -> (windows: [SiameseTextWindow], shifts: [Int]) {
        let n = ids.count
        let count = n > length ? Int((Double(n - length) / Double(stride)).rounded(.up)) + 1 : 1
        var windows: [SiameseTextWindow] = []
        var shifts: [Int] = []
        for j in 0..<count {
            let start = j * stride
            var chunk = Array(ids[min(start, n)..<min(start + length, n)])
            var mask = [Int32](repeating: 1, count: chunk.count)
            if count > 1 && chunk.count < length {
                mask += [Int32](repeating: 0, count: length - chunk.count)
                chunk += [Int32](repeating: 0, count: length - chunk.count)
            }
            windows.append(SiameseTextWindow(ids: chunk, attentionMask: mask))
            shifts.append(start)
        }
        return (windows, shifts)
    }
}
