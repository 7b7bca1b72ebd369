import Config
import Foundation
import Testing

@testable import Campaign

/// The shipped campaign files (campaigns/) and the published data set they follow.
private enum Shipped {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let campaigns = packageRoot.appendingPathComponent("campaigns")
    static let data = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/cdse")

    static func load(_ name: String) throws -> CampaignFile {
        try CampaignFile.load(path: campaigns.appendingPathComponent(name).path)
    }

    static func plan(_ name: String) throws -> DesignPlan {
        try load(name).plan(pumpResolutionMicrolitres: 0.1)
    }
}

private func condition(cd: Double, se: Double, oa: Double, t: Double) -> SynthesisCondition {
    SynthesisCondition(cadmiumMillimolar: cd, seleniumMillimolar: se, oleicAcidPerCadmium: oa, temperatureCelsius: t)
}

@Suite struct CampaignFolderTests {
    /// Every file in campaigns/ parses and compiles; the files' infeasible points, if any, are
    /// named in the failure message.
    @Test func everyCampaignFileParsesAndCompiles() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Shipped.campaigns.path)
            .filter { $0.hasSuffix(".toml") }.sorted()
        #expect(names == ["demo.toml", "grid-256.toml", "test-extrapolation.toml", "test-interpolation.toml"])
        for name in names {
            let plan = try Shipped.plan(name)
            #expect(!plan.entries.isEmpty, "\(name)")
            let infeasible = plan.infeasible.map { "\($0.experiment.number) \($0.error)" }
            #expect(infeasible.isEmpty, "\(name): \(infeasible.joined(separator: "; "))")
            #expect(plan.rejected.isEmpty, "\(name)")
            #expect(plan.experiments.map(\.number) == Array(1...plan.entries.count))
        }
    }

    /// Every delivery of every shipped campaign has a pump in both shipped board files.
    @Test func everyReagentHasAPumpOnTheShippedBoards() throws {
        let boards = try ["sim.toml", "rpi5-reactor-hat.toml"].map {
            try BoardFile.load(path: Shipped.packageRoot.appendingPathComponent("Boards/" + $0).path)
        }
        for name in ["demo.toml", "grid-256.toml", "test-extrapolation.toml", "test-interpolation.toml"] {
            var reagents = Set<Reagent>()
            for entry in try Shipped.plan(name).entries {
                let recipe = try entry.recipe.get()
                reagents.formUnion((recipe.charge + recipe.injection).map(\.reagent))
            }
            #expect(reagents == [.cadmiumStock, .oleicAcid, .octadecene, .seleniumStock], "\(name)")
            for reagent in reagents {
                let pumpReagent = try #require(reagent.pumpReagent)
                for board in boards {
                    #expect(board.pump(holding: pumpReagent) != nil, "\(board.path) has no pump for \(reagent)")
                }
            }
        }
    }

    /// The fullest charges the files' comments state: 160 + 605.7, 120 + 397.5, 200 + 378.5 µL.
    @Test(arguments: [("grid-256.toml", 765.7), ("test-interpolation.toml", 517.5), ("test-extrapolation.toml", 578.5)])
    func fullestCharge(name: String, microlitres: Double) throws {
        let fullest = try Shipped.plan(name).entries.map {
            let recipe = try $0.recipe.get()
            return recipe.cadmiumStockMicrolitres + recipe.oleicAcidMicrolitres
        }.max()
        #expect(abs((fullest ?? 0) - microlitres) < 1e-9)
    }

    @Test func demoIsShort() throws {
        let plan = try Shipped.plan("demo.toml")
        #expect((4...6).contains(plan.entries.count))
    }

    /// grid-256.toml is the data set's 256 distinct conditions in the data set's `Expt. No` order.
    @Test func gridFileIsThePublishedGridInPublishedOrder() throws {
        let text = try String(contentsOf: Shipped.data.appendingPathComponent("uv_train_val.csv"), encoding: .utf8)
        var published: [SynthesisCondition] = []
        var seenExperiments = Set<Int>()
        var rows: [(number: Int, condition: SynthesisCondition)] = []
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
            guard fields.count > 5, let number = Int(fields[0]), let cd = Double(fields[2]), let se = Double(fields[3]),
                  let oa = Double(fields[4]), let t = Double(fields[5]) else { continue }
            // The data set writes 10.002 and 19.998 for OA/Cd 10 and 20.
            rows.append((number, condition(cd: cd, se: se, oa: oa.rounded(), t: t)))
        }
        for row in rows.sorted(by: { $0.number < $1.number }) where seenExperiments.insert(row.number).inserted {
            if !published.contains(row.condition) { published.append(row.condition) }
        }
        #expect(published.count == 256)
        let plan = try Shipped.plan("grid-256.toml")
        #expect(plan.experiments.map(\.condition) == published)
    }

    /// test-interpolation.toml: the 3 x 2 x 2 x 2 factorial of DESIGN §1's levels.
    @Test func interpolationFileHasThePublishedLevels() throws {
        let plan = try Shipped.plan("test-interpolation.toml")
        #expect(plan.entries.count == 24)
        let conditions = Set(plan.experiments.map(\.condition))
        #expect(conditions.count == 24)
        for t in [225.0, 255, 285] {
            for cd in [7.0, 30] {
                for se in [7.0, 30] {
                    for oa in [7.5, 35] {
                        #expect(conditions.contains(condition(cd: cd, se: se, oa: oa, t: t)))
                    }
                }
            }
        }
    }

    /// test-extrapolation.toml: 24 feasible points of DESIGN §1's extrapolation levels, each
    /// outside the training ranges in [Cd] or OA/Cd (the file says how they were chosen).
    @Test func extrapolationFileIsTheFeasibleChemicalExtrapolations() throws {
        let plan = try Shipped.plan("test-extrapolation.toml")
        #expect(plan.entries.count == 24)
        let conditions = plan.experiments.map(\.condition)
        #expect(Set(conditions).count == 24)
        for c in conditions {
            #expect([205.0, 210, 305, 310].contains(c.temperatureCelsius))
            #expect([5.0, 50].contains(c.cadmiumMillimolar) && [5.0, 50].contains(c.seleniumMillimolar))
            #expect([20.0, 100, 150].contains(c.oleicAcidPerCadmium))
            #expect(c.cadmiumMillimolar > 40 || c.oleicAcidPerCadmium > 40)
        }
        // The 48-point factorial's other 24: 16 cannot be made (50 mM Cd at OA/Cd 100 or 150), 8 are [Cd] 5 at OA/Cd 20.
        let compiler = try Shipped.load("test-extrapolation.toml").recipeCompiler(pumpResolutionMicrolitres: 0.1)
        var infeasible = 0
        for t in [205.0, 210, 305, 310] {
            for cd in [5.0, 50] {
                for se in [5.0, 50] {
                    for oa in [20.0, 100, 150] where !conditions.contains(condition(cd: cd, se: se, oa: oa, t: t)) {
                        if case .failure(let error) = compiler.result(for: condition(cd: cd, se: se, oa: oa, t: t)) {
                            #expect(error.reason == .charge && cd == 50)
                            infeasible += 1
                        } else {
                            #expect(cd == 5 && oa == 20)
                        }
                    }
                }
            }
        }
        #expect(infeasible == 16)
    }
}
