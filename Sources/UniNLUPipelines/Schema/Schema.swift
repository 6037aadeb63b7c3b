import UniNLUCore

// A user schema: an ordered tree of labels. `{"人物": null, "组织机构": {"创始人(人物)": null}}`
// asks for people, and for organisations with their founders. Key order is output order.

public struct Schema: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var label: String
        /// `nil` for a leaf (JSON null).
        public var children: Schema?
        public init(label: String, children: Schema? = nil) {
            self.label = label
            self.children = children
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// A flat schema: every label a leaf (what `--labels a,b,c` means).
    public init(labels: [String]) { entries = labels.map { Entry(label: $0) } }

    public var labels: [String] { entries.map(\.label) }
    public var isEmpty: Bool { entries.isEmpty }

    public func children(of label: String) -> Schema? {
        entries.first { $0.label == label }?.children
    }

    /// Total number of labels in the tree.
    public var nodeCount: Int { entries.reduce(0) { $0 + 1 + ($1.children?.nodeCount ?? 0) } }

    /// Number of levels (a flat schema has depth 1, an empty one 0).
    public var depth: Int { entries.map { 1 + ($0.children?.depth ?? 0) }.max() ?? 0 }
}
