import Foundation
import Journal
import Testing

@testable import Rig

/// The journal state a restart writes before the campaign starts again.
struct JournalRecorderTests {
    /// A restart records the experiment the last stop interrupted before `campaignStarted`; the
    /// state it leaves must still name the campaign, so a stop right then is resumed again.
    @Test func anInterruptedExperimentRecordedOnRestartKeepsTheCampaignsName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-recorder-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("journal.sqlite").path
        let journal = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 1 << 20))
        let recorder = JournalRecorder(journal: journal, campaign: "crash")
        try recorder.recordInterrupted(experiment: 2, reason: "interrupted: the controller stopped during this experiment")
        try journal.close()
        let reopened = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 1 << 20))
        #expect(reopened.recoveredCampaignState?.campaign == "crash")
        #expect(reopened.recoveredCampaignState?.experiment == 2)
        #expect(reopened.recoveredCampaignState?.phase == .idle)
        try reopened.close()
    }
}
