/// A reagent the pumps deliver into the reactor (DESIGN §1).
public enum Reagent: String, Equatable, Hashable, Sendable, CaseIterable {
    /// Cd-oleate stock in ODE (300 mM on the published rig), from the heated syringe.
    case cadmiumOleate = "cd_oleate"
    /// TOP-Se stock, hot-injected.
    case trioctylphosphineSelenide = "top_se"
    /// Oleic acid, neat (about 3.17 M: 0.895 g/mL over 282.46 g/mol).
    case oleicAcid = "oleic_acid"
    /// 1-Octadecene, the solvent.
    case octadecene = "ode"
}

/// The stock concentrations the reagents are made up at.
public struct ReagentStocks: Equatable, Sendable {
    /// Cd in the Cd-oleate stock, mM.
    public var cadmiumMillimolar: Double
    /// Se in the TOP-Se stock, mM.
    public var seleniumMillimolar: Double
    /// Oleic acid in the OA reagent, mM (neat: 3170).
    public var oleicAcidMillimolar: Double
    /// Oleate carried per Cd by the Cd-oleate stock and counted in OA/Cd: 0 when the ratio counts
    /// only the oleic acid added (the published recipes' convention), 2 to count Cd(oleate)₂'s own.
    public var oleatePerCadmiumInStock: Double

    public init(cadmiumMillimolar: Double, seleniumMillimolar: Double, oleicAcidMillimolar: Double = 3170, oleatePerCadmiumInStock: Double = 0) {
        precondition(cadmiumMillimolar >= 0 && seleniumMillimolar >= 0 && oleicAcidMillimolar >= 0 && oleatePerCadmiumInStock >= 0,
            "stock concentrations are 0 or more")
        self.cadmiumMillimolar = cadmiumMillimolar
        self.seleniumMillimolar = seleniumMillimolar
        self.oleicAcidMillimolar = oleicAcidMillimolar
        self.oleatePerCadmiumInStock = oleatePerCadmiumInStock
    }
}

/// What is in the reactor: the volume of each reagent delivered and still there, and from it the
/// concentrations the chemistry sees.
///
/// The charge is well mixed (800 rpm), so a withdrawal takes every reagent in proportion and
/// leaves the concentrations as they were; only deliveries change them:
///
///     [Cd] = V_Cd · c_Cd / V,  [Se] = V_Se · c_Se / V,  OA/Cd = (V_OA · c_OA + n · V_Cd · c_Cd) / (V_Cd · c_Cd)
///
/// with V the liquid volume and n `oleatePerCadmiumInStock`. The injection is the moment Cd and Se
/// first meet (the first TOP-Se delivered into a charge holding Cd, or the reverse): growth time
/// counts from there. Cleaning empties the reactor and ends the experiment.
public final class ReactorContents {
    /// The stocks' concentrations. A campaign may make up a new TOP-Se dilution per experiment (the
    /// injection is always 300 µL): set it before loading.
    public var stocks: ReagentStocks
    /// The reactor's working capacity, µL (3 mL on the published rig).
    public let capacityMicrolitres: Double

    /// Each reagent's volume in the reactor now, µL.
    private var present: [Reagent: Double] = [:]
    /// Each reagent's volume delivered since the last cleaning, µL.
    private var delivered: [Reagent: Double] = [:]
    /// Withdrawn since the last cleaning, µL.
    public private(set) var withdrawnMicrolitres = 0.0
    /// When Cd and Se first met since the last cleaning, s; nil before.
    public private(set) var injectionSeconds: Double?
    /// Injections since construction (one per experiment).
    public private(set) var injectionCount = 0
    /// Whether the liquid has at any time exceeded the capacity since the last cleaning.
    public private(set) var overfilled = false
    /// The last time anything happened, s.
    public private(set) var lastEventSeconds: Double?

    public init(stocks: ReagentStocks, capacityMicrolitres: Double = 3000) {
        precondition(capacityMicrolitres > 0, "a reactor holds something")
        self.stocks = stocks
        self.capacityMicrolitres = capacityMicrolitres
    }

    /// The liquid in the reactor, µL.
    public var volumeMicrolitres: Double { Reagent.allCases.reduce(0) { $0 + (present[$1] ?? 0) } }

    /// The volume of `reagent` in the reactor now, µL.
    public func microlitres(of reagent: Reagent) -> Double { present[reagent] ?? 0 }

    /// The volume of `reagent` delivered since the last cleaning, µL.
    public func deliveredMicrolitres(of reagent: Reagent) -> Double { delivered[reagent] ?? 0 }

    /// [Cd], mM (0 when empty).
    public var cadmiumMillimolar: Double { concentration(of: .cadmiumOleate, stock: stocks.cadmiumMillimolar) }
    /// [Se], mM (0 when empty).
    public var seleniumMillimolar: Double { concentration(of: .trioctylphosphineSelenide, stock: stocks.seleniumMillimolar) }
    /// OA/Cd, mol/mol; nil without cadmium.
    public var oleicAcidPerCadmium: Double? {
        let cadmium = microlitres(of: .cadmiumOleate) * stocks.cadmiumMillimolar
        guard cadmium > 0 else { return nil }
        return (microlitres(of: .oleicAcid) * stocks.oleicAcidMillimolar + stocks.oleatePerCadmiumInStock * cadmium) / cadmium
    }

    private func concentration(of reagent: Reagent, stock: Double) -> Double {
        let volume = volumeMicrolitres
        return volume > 0 ? microlitres(of: reagent) * stock / volume : 0
    }

    /// A pump reports `microlitres` of `reagent` delivered into the reactor at `seconds` (the
    /// pump simulators' callback).
    public func deliver(reagent: Reagent, microlitres: Double, at seconds: Double) {
        precondition(microlitres >= 0 && microlitres.isFinite, "a pump delivers 0 µL or more")
        guard microlitres > 0 else { return }
        let hadCadmium = self.microlitres(of: .cadmiumOleate) > 0
        let hadSelenium = self.microlitres(of: .trioctylphosphineSelenide) > 0
        present[reagent, default: 0] += microlitres
        delivered[reagent, default: 0] += microlitres
        lastEventSeconds = seconds
        if volumeMicrolitres > capacityMicrolitres { overfilled = true }
        let meet = (hadCadmium || reagent == .cadmiumOleate) && (hadSelenium || reagent == .trioctylphosphineSelenide)
        if injectionSeconds == nil && meet && stocks.cadmiumMillimolar > 0 && stocks.seleniumMillimolar > 0 {
            injectionSeconds = seconds
            injectionCount += 1
        }
    }

    /// Withdraws up to `microlitres` of the mixture at `seconds` (an aliquot; every reagent in
    /// proportion) and returns what was there to take, µL.
    @discardableResult
    public func withdraw(microlitres: Double, at seconds: Double) -> Double {
        precondition(microlitres >= 0 && microlitres.isFinite, "a withdrawal takes 0 µL or more")
        let volume = volumeMicrolitres
        let taken = min(microlitres, volume)
        guard taken > 0 else { return 0 }
        let keep = (volume - taken) / volume
        for reagent in Reagent.allCases {
            if let amount = present[reagent] { present[reagent] = amount * keep }
        }
        withdrawnMicrolitres += taken
        lastEventSeconds = seconds
        return taken
    }

    /// Cleaning: the reactor is emptied, rinsed and dried; the experiment is over.
    public func clean(at seconds: Double) {
        present = [:]
        delivered = [:]
        withdrawnMicrolitres = 0
        injectionSeconds = nil
        overfilled = false
        lastEventSeconds = seconds
    }
}
