// From a condition ([Cd], [Se], OA/Cd, T) to pump volumes, checked before anything moves.
//
// The reactor is loaded in two parts (DESIGN §1): a charge (900 µL: Cd-oleate stock, oleic acid,
// ODE) heated to the reaction temperature, and a hot injection (300 µL: TOP-Se stock) that starts
// the reaction; concentrations are those of the final volume (1200 µL).
//
// Decisions, written down so the numbers can be checked:
// - OA/Cd counts the free oleic acid added from the oleic-acid syringe, not the two oleates each
//   Cd brings in the Cd-oleate stock (the published platform's convention as the issue states it:
//   40 mM Cd at OA/Cd 40 needs 1.92 mmol = 606 µL of pure oleic acid). With
//   `PrecursorStocks.countsCadmiumOleate` the ratio counts all oleate instead, so only
//   (OA/Cd - 2) x [Cd] is added and OA/Cd below 2 is infeasible.
// - The Cd-oleate stock's own solvent is counted as part of the charge's ODE: it is inert here.
// - The injection always delivers its full volume (300 µL): the TOP-Se stock is topped up with
//   the injection diluent (TOP by default), pumped into the injection line with it, so every
//   experiment gets the same cold-liquid disturbance the heater's feed-forward expects and the
//   same mixing; only the Se stock volume changes with [Se]. The shipped board files have no
//   TOP pump, so the shipped campaigns choose ODE (`[stocks] injection_diluent = "ODE"`).
// - Every volume is a whole number of pump steps (the resolution); the ODE fills the charge to
//   its exact volume and the diluent the injection, so the final volume is always exact. The
//   concentrations the rounded volumes give are reported, and a recipe whose rounding moves
//   [Cd], [Se] or OA/Cd by more than `maximumRelativeError` is refused.

import Config

/// What a pump delivers in a recipe. The raw value names it in sequencer actions and
/// `CampaignHardware.startPump(reagent:)`; `pumpReagent` finds its pump in the board file.
public enum Reagent: String, CaseIterable, Equatable, Hashable, Sendable {
    /// Cd-oleate stock, in the heated syringe (solidifies below ~50 °C).
    case cadmiumStock = "cd_stock"
    /// Pure oleic acid.
    case oleicAcid = "oleic_acid"
    /// 1-octadecene: the charge's solvent (and the injection diluent when chosen).
    case octadecene = "ode"
    /// TOP-Se stock.
    case seleniumStock = "se_stock"
    /// Trioctylphosphine: the default injection diluent.
    case trioctylphosphine = "top"

    /// The board file's `reagent` of the pump that delivers it (`BoardFile.pump(holding:)`);
    /// nil for TOP, which no board pump holds yet (a campaign using TOP as the injection diluent
    /// needs one; the shipped campaigns use ODE).
    public var pumpReagent: PumpReagent? {
        switch self {
        case .cadmiumStock: .cd
        case .oleicAcid: .oa
        case .octadecene: .ode
        case .seleniumStock: .se
        case .trioctylphosphine: nil
        }
    }

    /// The reagent in words, for messages.
    public var displayName: String {
        switch self {
        case .cadmiumStock: "Cd stock"
        case .oleicAcid: "oleic acid"
        case .octadecene: "ODE"
        case .seleniumStock: "Se stock"
        case .trioctylphosphine: "TOP"
        }
    }
}

/// One pump delivery of a recipe.
public struct ReagentVolume: Equatable, Hashable, Sendable {
    public var reagent: Reagent
    /// A whole number of the pump's steps, µL.
    public var microlitres: Double

    public init(reagent: Reagent, microlitres: Double) {
        self.reagent = reagent
        self.microlitres = microlitres
    }
}

/// The pump volumes of one experiment, and the concentrations they give in the final volume.
public struct Recipe: Equatable, Sendable {
    /// The condition the campaign asked for.
    public var requested: SynthesisCondition
    /// The condition the rounded volumes give (temperature unchanged).
    public var achieved: SynthesisCondition
    /// Cd-oleate stock into the charge, µL.
    public var cadmiumStockMicrolitres: Double
    /// Oleic acid into the charge, µL.
    public var oleicAcidMicrolitres: Double
    /// ODE filling the charge to its volume, µL.
    public var octadeceneMicrolitres: Double
    /// TOP-Se stock into the injection, µL.
    public var seleniumStockMicrolitres: Double
    /// Diluent filling the injection to its volume, µL.
    public var injectionDiluentMicrolitres: Double
    /// Which reagent dilutes the injection (TOP or ODE).
    public var injectionDiluent: Reagent
    /// The charge (heated before injection), µL: the sum of the three charge volumes.
    public var chargeMicrolitres: Double
    /// The hot injection, µL.
    public var injectionMicrolitres: Double
    /// Free oleic acid in the final volume, mM (from the oleic-acid syringe only).
    public var freeOleicAcidMillimolar: Double
    /// All oleate in the final volume, mM: free oleic acid plus two per Cd from the Cd-oleate stock.
    public var totalOleateMillimolar: Double

    /// The final volume, µL.
    public var totalMicrolitres: Double { chargeMicrolitres + injectionMicrolitres }

    /// The charge's deliveries in loading order (Cd stock, oleic acid, ODE), zero volumes left out.
    public var charge: [ReagentVolume] {
        [
            ReagentVolume(reagent: .cadmiumStock, microlitres: cadmiumStockMicrolitres),
            ReagentVolume(reagent: .oleicAcid, microlitres: oleicAcidMicrolitres),
            ReagentVolume(reagent: .octadecene, microlitres: octadeceneMicrolitres),
        ].filter { $0.microlitres > 0 }
    }

    /// The injection's deliveries (Se stock, then diluent), zero volumes left out.
    public var injection: [ReagentVolume] {
        [
            ReagentVolume(reagent: .seleniumStock, microlitres: seleniumStockMicrolitres),
            ReagentVolume(reagent: injectionDiluent, microlitres: injectionDiluentMicrolitres),
        ].filter { $0.microlitres > 0 }
    }
}

/// A condition that cannot be made with these stocks, this reactor and this pump, with the
/// numbers: what it needs and what fits.
public struct RecipeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which check refused it.
    public enum Reason: String, Equatable, Sendable {
        /// Charge + injection is more than the reactor holds.
        case reactorCapacity
        /// The charge or injection volume is not a whole number of pump steps.
        case volumeStep
        /// OA/Cd below the oleate the Cd-oleate stock already brings (when that is counted).
        case oleateStoichiometry
        /// The Se stock needed is more than the injection volume.
        case injection
        /// The Cd stock and oleic acid needed are more than the charge volume.
        case charge
        /// The pump's steps cannot deliver the volume closely enough.
        case pumpResolution
    }

    public var condition: SynthesisCondition
    public var reason: Reason
    /// Why, with the numbers (without the condition, which `description` adds).
    public var message: String

    public init(condition: SynthesisCondition, reason: Reason, message: String) {
        self.condition = condition
        self.reason = reason
        self.message = message
    }

    /// `[Cd] 50 mM, [Se] 10 mM, OA/Cd 150, 270 °C: infeasible recipe: the 900 µL charge needs ...`.
    public var description: String { "\(condition.summary): infeasible recipe: \(message)" }
}

extension SynthesisCondition {
    /// `[Cd] 50 mM, [Se] 10 mM, OA/Cd 150, 270 °C` (two decimals at most), for messages.
    public var summary: String {
        "[Cd] \(renderRounded(cadmiumMillimolar, decimals: 2)) mM, "
            + "[Se] \(renderRounded(seleniumMillimolar, decimals: 2)) mM, "
            + "OA/Cd \(renderRounded(oleicAcidPerCadmium, decimals: 2)), "
            + "\(renderRounded(temperatureCelsius, decimals: 2)) °C"
    }
}

/// Turns conditions into pump volumes for given stocks, reactor volumes and pump resolution.
public struct RecipeCompiler: Equatable, Sendable {
    /// Oleate each Cd brings in a Cd-oleate stock (Cd(oleate)2).
    public static let oleatePerCadmium = 2.0

    public var stocks: PrecursorStocks
    public var reactor: ReactorVolumes
    /// The smallest volume step the pumps deliver, µL (syringe volume / steps per stroke; the
    /// coarsest pump's step when they differ).
    public var pumpResolutionMicrolitres: Double
    /// The largest relative change of [Cd], [Se] or OA/Cd that rounding to pump steps may cause.
    public var maximumRelativeError: Double

    public init(
        stocks: PrecursorStocks, reactor: ReactorVolumes, pumpResolutionMicrolitres: Double,
        maximumRelativeError: Double = 0.01
    ) {
        precondition(pumpResolutionMicrolitres > 0 && pumpResolutionMicrolitres.isFinite, "pump resolution must be positive")
        precondition(maximumRelativeError >= 0, "the relative error allowed must not be negative")
        self.stocks = stocks
        self.reactor = reactor
        self.pumpResolutionMicrolitres = pumpResolutionMicrolitres
        self.maximumRelativeError = maximumRelativeError
    }

    /// The pump volumes for `condition`, or why it cannot be made.
    ///
    /// Volumes: Cd stock = [Cd] x V / c(Cd stock); oleic acid = OA/Cd x [Cd] x V / c(oleic acid);
    /// Se stock = [Se] x V / c(Se stock), V the final volume (charge + injection); ODE and the
    /// injection diluent fill the charge and the injection. Checks, in order: reactor capacity,
    /// whole pump steps, oleate stoichiometry, the injection, the charge, the pump's resolution.
    public func compile(_ condition: SynthesisCondition) throws(RecipeError) -> Recipe {
        func fail(_ reason: RecipeError.Reason, _ message: String) -> RecipeError {
            RecipeError(condition: condition, reason: reason, message: message)
        }
        let charge = reactor.chargeMicrolitres
        let injection = reactor.injectionMicrolitres
        let total = charge + injection
        let step = pumpResolutionMicrolitres
        let cadmium = condition.cadmiumMillimolar
        let oleicAcidMillimolar = stocks.oleicAcidMolar * 1000

        guard total <= reactor.capacityMicrolitres else {
            throw fail(
                .reactorCapacity,
                "the \(volumeText(charge)) charge + \(volumeText(injection)) injection = \(volumeText(total)) is more than the "
                    + "reactor's \(volumeText(reactor.capacityMicrolitres))")
        }
        guard let chargeSteps = wholeSteps(charge), let injectionSteps = wholeSteps(injection) else {
            let which = wholeSteps(charge) == nil ? "charge" : "injection"
            let volume = which == "charge" ? charge : injection
            throw fail(
                .volumeStep,
                "the \(volumeText(volume, decimals: 3)) \(which) is not a whole number of the pump's \(volumeText(step, decimals: 3)) steps")
        }

        let ratioFromStock = stocks.countsCadmiumOleate ? Self.oleatePerCadmium : 0
        guard condition.oleicAcidPerCadmium >= ratioFromStock else {
            throw fail(
                .oleateStoichiometry,
                "the Cd-oleate stock already brings \(renderNumber(ratioFromStock)) oleate per Cd "
                    + "(stocks.count_cd_oleate = true): OA/Cd must be at least \(renderNumber(ratioFromStock))")
        }
        let freeOleicAcid = (condition.oleicAcidPerCadmium - ratioFromStock) * cadmium

        // Exact volumes: what the chemistry needs.
        let cadmiumStock = cadmium * total / stocks.cadmiumMillimolar
        let oleicAcid = freeOleicAcid * total / oleicAcidMillimolar
        let seleniumStock = condition.seleniumMillimolar * total / stocks.seleniumMillimolar

        guard seleniumStock <= injection else {
            let most = injection * stocks.seleniumMillimolar / total
            throw fail(
                .injection,
                "the \(volumeText(injection)) injection needs \(volumeText(seleniumStock)) Se stock "
                    + "(\(renderRounded(stocks.seleniumMillimolar, decimals: 1)) mM), "
                    + "\(volumeText(seleniumStock - injection)) more than it holds; it fits [Se] up to "
                    + "\(renderRounded(most, decimals: 1)) mM")
        }
        guard cadmiumStock + oleicAcid <= charge else {
            throw fail(.charge, chargeOverflow(cadmiumStock, oleicAcid, cadmium: cadmium, prefix: ""))
        }

        // Whole pump steps.
        var rounded: [Reagent: Int] = [:]
        for (reagent, volume) in [(Reagent.cadmiumStock, cadmiumStock), (.oleicAcid, oleicAcid), (.seleniumStock, seleniumStock)] {
            let steps = Int((volume / step).rounded())
            if volume > 0 && steps == 0 {
                throw fail(
                    .pumpResolution,
                    "\(volumeText(volume, decimals: 3)) \(reagent.displayName) is below the pump's "
                        + "\(volumeText(step, decimals: 3)) resolution")
            }
            rounded[reagent] = steps
        }
        let cadmiumSteps = rounded[.cadmiumStock] ?? 0
        let oleicAcidSteps = rounded[.oleicAcid] ?? 0
        let seleniumSteps = rounded[.seleniumStock] ?? 0
        guard cadmiumSteps + oleicAcidSteps <= chargeSteps else {
            throw fail(
                .charge,
                chargeOverflow(
                    volume(cadmiumSteps), volume(oleicAcidSteps), cadmium: cadmium,
                    prefix: "with the pump's \(volumeText(step, decimals: 3)) steps, "))
        }
        // Rounding the injection can not overflow it: seleniumStock <= injection, a whole number of steps.

        let achievedCadmium = volume(cadmiumSteps) * stocks.cadmiumMillimolar / total
        let achievedSelenium = volume(seleniumSteps) * stocks.seleniumMillimolar / total
        let achievedFreeOleicAcid = volume(oleicAcidSteps) * oleicAcidMillimolar / total
        let achievedRatio = achievedCadmium > 0
            ? (achievedFreeOleicAcid + ratioFromStock * achievedCadmium) / achievedCadmium : 0
        let comparisons: [(Reagent, String, Double, Double, Double, Int)] = [
            (.cadmiumStock, "[Cd]", cadmium, achievedCadmium, cadmiumStock, cadmiumSteps),
            (.oleicAcid, "OA/Cd", condition.oleicAcidPerCadmium, achievedRatio, oleicAcid, oleicAcidSteps),
            (.seleniumStock, "[Se]", condition.seleniumMillimolar, achievedSelenium, seleniumStock, seleniumSteps),
        ]
        for (reagent, quantity, target, achieved, exact, steps) in comparisons where target > 0 {
            let relative = abs(achieved - target) / target
            guard relative <= maximumRelativeError else {
                throw fail(
                    .pumpResolution,
                    "\(volumeText(exact, decimals: 3)) \(reagent.displayName) rounds to \(volumeText(volume(steps), decimals: 3)) "
                        + "in the pump's \(volumeText(step, decimals: 3)) steps: \(quantity) "
                        + "\(renderRounded(achieved, decimals: 2)) instead of \(renderRounded(target, decimals: 2)), "
                        + "\(renderRounded(relative * 100, decimals: 1)) % off (at most "
                        + "\(renderRounded(maximumRelativeError * 100, decimals: 2)) % allowed)")
            }
        }

        var achieved = condition
        achieved.cadmiumMillimolar = achievedCadmium
        achieved.seleniumMillimolar = achievedSelenium
        achieved.oleicAcidPerCadmium = achievedRatio
        return Recipe(
            requested: condition,
            achieved: achieved,
            cadmiumStockMicrolitres: volume(cadmiumSteps),
            oleicAcidMicrolitres: volume(oleicAcidSteps),
            octadeceneMicrolitres: volume(chargeSteps - cadmiumSteps - oleicAcidSteps),
            seleniumStockMicrolitres: volume(seleniumSteps),
            injectionDiluentMicrolitres: volume(injectionSteps - seleniumSteps),
            injectionDiluent: stocks.injectionDiluent,
            chargeMicrolitres: volume(chargeSteps),
            injectionMicrolitres: volume(injectionSteps),
            freeOleicAcidMillimolar: achievedFreeOleicAcid,
            totalOleateMillimolar: achievedFreeOleicAcid + Self.oleatePerCadmium * achievedCadmium)
    }

    /// `compile` as a `Result`, for plans that keep infeasible points with their reasons.
    public func result(for condition: SynthesisCondition) -> Result<Recipe, RecipeError> {
        do {
            return .success(try compile(condition))
        } catch {
            return .failure(error)
        }
    }

    // MARK: Helpers

    /// `volume` in pump steps when it is a whole number of them (to 1e-9 of a step).
    private func wholeSteps(_ volume: Double) -> Int? {
        let steps = volume / pumpResolutionMicrolitres
        let whole = steps.rounded()
        return abs(steps - whole) <= 1e-9 * max(1, whole) ? Int(whole) : nil
    }

    /// `steps` pump steps in µL, divided rather than multiplied when the step is 1/k µL so that
    /// 6057 steps of 0.1 µL is 605.7, not 605.7000000000001.
    private func volume(_ steps: Int) -> Double {
        let perMicrolitre = 1 / pumpResolutionMicrolitres
        if perMicrolitre == perMicrolitre.rounded() { return Double(steps) / perMicrolitre }
        return Double(steps) * pumpResolutionMicrolitres
    }

    /// The charge-overflow message: needed vs what the charge holds, and what would fit.
    private func chargeOverflow(_ cadmiumStock: Double, _ oleicAcid: Double, cadmium: Double, prefix: String) -> String {
        let charge = reactor.chargeMicrolitres
        let total = reactor.totalMicrolitres
        let needed = cadmiumStock + oleicAcid
        var text = prefix + "the \(volumeText(charge)) charge needs \(volumeText(cadmiumStock)) Cd stock "
            + "(\(renderRounded(stocks.cadmiumMillimolar, decimals: 1)) mM) + \(volumeText(oleicAcid)) oleic acid "
            + "(\(renderRounded(stocks.oleicAcidMolar, decimals: 3)) M) = \(volumeText(needed)), "
            + "\(volumeText(needed - charge)) more than it holds; "
        if cadmiumStock > charge {
            let most = charge * stocks.cadmiumMillimolar / total
            text += "even without oleic acid it fits [Cd] up to \(renderRounded(most, decimals: 1)) mM"
        } else {
            let freeMost = (charge - cadmiumStock) * stocks.oleicAcidMolar * 1000 / total
            let ratioMost = freeMost / cadmium + (stocks.countsCadmiumOleate ? Self.oleatePerCadmium : 0)
            text += "at \(renderRounded(cadmium, decimals: 2)) mM Cd it fits OA/Cd up to \(renderRounded(ratioMost, decimals: 1))"
        }
        return text
    }
}

/// `606 µL`, `0.04 µL`: a volume for messages.
private func volumeText(_ value: Double, decimals: Int = 1) -> String {
    "\(renderRounded(value, decimals: decimals)) µL"
}
