import Foundation
import Testing
import UniNLUText

/// Level 1 of the correctness ladder: ids, tokens and code-point offsets exactly as HF `BertTokenizerFast`.
@Suite("Tokenizer parity with the HF fixtures")
struct FixtureParityTests {
    @Test("every fixture item has HF's ids, tokens and offsets", arguments: ModelFixture.allCases)
    func items(fixture: ModelFixture) throws {
        let tokenizer = try fixture.tokenizer
        let items = try fixture.recording.items
        #expect(items.count == 300)
        var failures = 0
        for (index, item) in items.enumerated() {
            let encoding = tokenizer.encode(item.text)
            if encoding.ids == item.ids && encoding.tokens == item.tokens && encoding.offsets.pairs == item.offsets {
                continue
            }
            failures += 1
            Issue.record(
                """
                \(fixture.rawValue) item \(index) text \(item.text.debugDescription) \
                (scalars \(item.text.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ")))
                expected: \(describe(ids: item.ids, offsets: item.offsets, with: tokenizer))
                actual:   \(describe(ids: encoding.ids, offsets: encoding.offsets.pairs, with: tokenizer))
                """)
            if failures >= 20 { return }
        }
        // Unpadded single encodings: type ids 0, mask 1 (HF's defaults for `tokenizer(text)`).
        let sample = tokenizer.encode(items[5].text)
        #expect(sample.typeIds.allSatisfy { $0 == 0 } && sample.attentionMask.allSatisfy { $0 == 1 })
    }

    @Test("hint batches are truncated to 128 (keeping [SEP]) and padded like HF", arguments: ModelFixture.allCases)
    func paddedBatches(fixture: ModelFixture) throws {
        let tokenizer = try fixture.tokenizer
        let batches = try fixture.recording.paddedBatches
        #expect(!batches.isEmpty)
        for batch in batches {
            let encodings = tokenizer.encodeBatch(batch.texts, maxLength: batch.maxLength, padToLongest: true)
            #expect(encodings.count == batch.texts.count)
            for (index, encoding) in encodings.enumerated() {
                #expect(
                    encoding.ids == batch.ids[index],
                    """
                    \(fixture.rawValue) text \(batch.texts[index].debugDescription)
                    expected: \(describe(ids: batch.ids[index], with: tokenizer))
                    actual:   \(describe(ids: encoding.ids, with: tokenizer))
                    """)
                #expect(encoding.attentionMask == batch.attentionMask[index])
                #expect(encoding.ids.last(where: { $0 != tokenizer.padID }) == tokenizer.sepID)
                #expect(encoding.typeIds.allSatisfy { $0 == 0 })
                #expect(encoding.ids.count == encoding.tokens.count && encoding.ids.count == encoding.offsets.count)
            }
        }
    }

    @Test("the 200+-character hint is cut to exactly 128 tokens ending in [SEP]")
    func truncatedHint() throws {
        let tokenizer = try ModelFixture.siameseUIE.tokenizer
        let batch = try #require(try ModelFixture.siameseUIE.recording.paddedBatches.first { $0.ids[0].count == 128 })
        let encodings = tokenizer.encodeBatch(batch.texts, maxLength: 128, padToLongest: false)
        #expect(encodings[0].count == 128)
        #expect(encodings[0].ids.last == tokenizer.sepID)
        #expect(encodings[1].count < 128)  // unpadded when padToLongest is false
    }

    @Test("pair windows (only_second + stride + overflow) are HF's, with type ids and offsets")
    func pairWindows() throws {
        let tokenizer = try ModelFixture.rexUniNLU.tokenizer
        let cases = try ModelFixture.rexUniNLU.recording.pairWindows
        #expect(cases.count == 6)
        for recorded in cases {
            let windows = try tokenizer.encodePairWindows(
                first: recorded.first, second: recorded.second, maxLength: recorded.maxLength, stride: recorded.stride)
            let context = "first \(recorded.first.debugDescription) second \(recorded.second.debugDescription) "
                + "maxLength \(recorded.maxLength) stride \(recorded.stride)"
            try #require(windows.count == recorded.windows.count, "\(context): window count")
            for (index, (window, expected)) in zip(windows, recorded.windows).enumerated() {
                #expect(
                    window.ids == expected.ids,
                    """
                    \(context) window \(index)
                    expected: \(describe(ids: expected.ids, offsets: expected.offsets, with: tokenizer))
                    actual:   \(describe(ids: window.ids, offsets: window.offsets.pairs, with: tokenizer))
                    """)
                #expect(window.typeIds == expected.tokenTypeIds, "\(context) window \(index): type ids")
                #expect(window.offsets.pairs == expected.offsets, "\(context) window \(index): offsets")
                #expect(window.attentionMask.allSatisfy { $0 == 1 })
                #expect(window.count <= recorded.maxLength)
            }
        }
    }
}
