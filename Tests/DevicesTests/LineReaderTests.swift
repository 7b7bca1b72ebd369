import Testing
import Transports
import Twin

/// A serial line that delivers scripted chunks at scripted virtual times.
private final class ScriptedLine: SerialLine {
    let name = "test:tty"
    let virtualClock = VirtualClock()
    var clock: any RigClock { virtualClock }
    var chunks: [(at: Double, bytes: [UInt8])]
    private(set) var reads = 0
    private(set) var discards = 0

    init(_ chunks: [(Double, String)]) {
        self.chunks = chunks.map { ($0.0, Array($0.1.utf8)) }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws(SerialError) {}

    func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: MonotonicInstant) throws(SerialError) -> Int {
        reads += 1
        guard let first = chunks.first, MonotonicInstant.zero.adding(seconds: first.at) <= deadline else {
            try? virtualClock.sleep(until: deadline)
            return 0
        }
        try? virtualClock.sleep(until: MonotonicInstant.zero.adding(seconds: first.at))
        let count = min(buffer.count, first.bytes.count)
        for index in 0..<count { buffer[index] = first.bytes[index] }
        chunks[0].bytes.removeFirst(count)
        if chunks[0].bytes.isEmpty { chunks.removeFirst() }
        return count
    }

    func discardInput() throws(SerialError) { discards += 1 }
}

private func at(_ seconds: Double) -> MonotonicInstant { MonotonicInstant.zero.adding(seconds: seconds) }

@Suite struct LineReaderTests {
    @Test func everyTerminatorEndsALineAndCRLFCountsOnce() throws {
        let line = ScriptedLine([(0, "one\rtwo\nthree\r\nfour\n\rfive\r\n")])
        let reader = LineReader(serial: line)
        var lines: [String] = []
        for _ in 0..<6 { lines.append(try reader.readLine(until: at(1), awaiting: "a line")) }
        // LF CR is two terminators (an empty line between), CR LF one.
        #expect(lines == ["one", "two", "three", "four", "", "five"])
    }

    @Test func partialLinesAndASplitCRLFAcrossReads() throws {
        let line = ScriptedLine([(0.1, "12.5"), (0.2, " ul\r"), (0.3, "\nnext"), (0.4, "\r\n")])
        let reader = LineReader(serial: line)
        #expect(try reader.readLine(until: at(1), awaiting: "volume") == "12.5 ul")
        #expect(line.virtualClock.now() == at(0.2))
        // The LF that completes the CR LF is not an empty line.
        #expect(try reader.readLine(until: at(1), awaiting: "next") == "next")
        #expect(line.virtualClock.now() == at(0.4))
    }

    @Test func aPromptWithoutTerminatorIsReturnedWhenAccepted() throws {
        let line = ScriptedLine([(0, "\r\n5 ul\r\n0"), (0.01, "3>")])
        let reader = LineReader(serial: line)
        let isPrompt: ([UInt8]) -> Bool = { $0.last == UInt8(ascii: ">") }
        var items: [LineReader.Item] = []
        for _ in 0..<3 { items.append(try reader.readLineOrPrompt(until: at(1), awaiting: "prompt", isPrompt: isPrompt)) }
        #expect(items == [.line(""), .line("5 ul"), .prompt("03>")])
        #expect(reader.unterminated.isEmpty)
    }

    @Test func timeoutNamesThePortWhatWasAwaitedAndWhatCame() throws {
        let line = ScriptedLine([(0.1, "00"), (5, "never\r")])
        let reader = LineReader(serial: line)
        let error = #expect(throws: SerialError.self) {
            try reader.readLine(until: at(0.5), awaiting: "the prompt after \"irun\"")
        }
        #expect(error == SerialError(
            port: "test:tty", operation: "read line", awaiting: "the prompt after \"irun\"", received: Array("00".utf8),
            reason: .timeout))
        #expect(error?.description == "test:tty: read line failed: timeout awaiting the prompt after \"irun\" (received \"00\")")
        #expect(line.virtualClock.now() == at(0.5))
    }

    @Test func aLineLongerThanTheBoundIsAnError() throws {
        let line = ScriptedLine([(0, String(repeating: "x", count: 20) + "\r\n")])
        let reader = LineReader(serial: line, maximumLineLength: 16)
        let error = #expect(throws: SerialError.self) { try reader.readLine(until: at(1), awaiting: "a line") }
        #expect(error?.reason == .lineTooLong(limit: 16))
        #expect(error?.received.count == 16)
    }

    @Test func discardDropsBufferedLinesAndAsksThePort() throws {
        let line = ScriptedLine([(0, "stale\r\nold"), (0.2, "fresh\r\n")])
        let reader = LineReader(serial: line)
        #expect(try reader.readLine(until: at(1), awaiting: "a line") == "stale")
        try reader.discardInput()
        #expect(line.discards == 1)
        #expect(try reader.readLine(until: at(1), awaiting: "a line") == "fresh")
    }

    @Test func printableEscapesWhatIsNotPrintable() {
        #expect(printable([0x30, 0x3A, 0x0D, 0x0A, 0xBA, 0x5C, 0x00]) == "0:\\r\\n\\xBA\\\\\\x00")
    }
}
