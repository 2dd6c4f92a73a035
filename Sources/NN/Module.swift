// Modules: parameters and submodules are found by walking stored properties (reflection),
// so names, checkpoint keys, weight-decay groups and pruning targets all come from one walk
// and no list of parameters is ever kept by hand.

@_exported import Autodiff

/// Overrides the name a stored property contributes to dotted parameter names, for names
/// that are not Swift-style (GPT-2's `ln_1`, `c_attn`), as mlx-swift's `@ModuleInfo(key:)`:
///
///     @Key("ln_1") var ln1: LayerNorm
///     init() { _ln1.wrappedValue = LayerNorm(...) }   // in init, assign through the wrapper
@propertyWrapper
public struct Key<Value> {
    private var value: Value?
    public let key: String
    public init(_ key: String) { self.key = key }
    public init(wrappedValue: Value, _ key: String) {
        self.value = wrappedValue
        self.key = key
    }
    public var wrappedValue: Value {
        get {
            guard let value else { fatalError("@Key(\"\(key)\"): read before it was assigned in init") }
            return value
        }
        set { value = newValue }
    }
}

/// Lets the walk see through `@Key` without knowing its generic argument.
protocol KeyedProperty {
    var key: String { get }
    var anyValue: Any { get }
}
extension Key: KeyedProperty { var anyValue: Any { value as Any } }

/// A neural-network building block. Subclasses declare parameters as stored `Tensor`
/// properties (optional for a bias that may be absent), submodules as stored `Module`
/// properties or arrays of modules; `namedParameters()` finds them all.
open class Module {
    /// Training mode (dropout active). Set for the whole tree with `train()` / `eval()`.
    public private(set) var isTraining = true

    public init() {}

    /// Every parameter with its dotted name (`h.0.attn.c_attn.weight`), in declaration order.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var result: [(String, Tensor)] = []
        var seen = Set<ObjectIdentifier>()  // a tied tensor is listed once, under its first name
        walk(prefix: "") { name, value in
            if let t = value as? Tensor, seen.insert(ObjectIdentifier(t)).inserted { result.append((name, t)) }
        }
        return result
    }

    /// The parameters, in the order of `namedParameters()`.
    public func parameters() -> [Tensor] { namedParameters().map(\.tensor) }

    /// Every submodule with its dotted name ("" for this module), parents before children.
    public func namedModules() -> [(name: String, module: Module)] {
        var result: [(String, Module)] = [("", self)]
        walk(prefix: "") { name, value in
            if let m = value as? Module { result.append((name, m)) }
        }
        return result
    }

    /// Number of scalar parameters.
    public var parameterCount: Int { parameters().reduce(0) { $0 + $1.count } }

    /// Switches this module and all submodules to training mode.
    public func train() { namedModules().forEach { $0.module.isTraining = true } }
    /// Switches this module and all submodules to evaluation mode.
    public func eval() { namedModules().forEach { $0.module.isTraining = false } }

    /// Points this module's own parameters (not its submodules') at `source`'s — the same
    /// storage, new leaves (`Tensor.sharedLeaf()`) — for a data-parallel replica
    /// (`shareParameters(of:)`, Training/DataParallel.swift). Layers that hold tensors override
    /// it; containers hold none of their own. `source` is a module of the same type.
    open func shareOwnParameters(of source: Module) throws {}

    /// Tensors a checkpoint of this module may hold besides its parameters (e.g. GPT-2's tied head
    /// and mask buffers as transformers saves them); loading accepts and skips them.
    open var checkpointExtraTensors: [CheckpointExtraTensor] { [] }

    /// Clears every parameter's gradient.
    public func zeroGrad() { parameters().forEach { $0.zeroGrad() } }

    /// Visits stored properties: tensors and modules (recursing into modules) with dotted names.
    private func walk(prefix: String, _ visit: (String, Any) -> Void) {
        var mirror: Mirror? = Mirror(reflecting: self)
        var children: [(String, Any)] = []
        // Superclass properties first, so a subclass's names come after its base's.
        var chain: [Mirror] = []
        while let m = mirror { chain.append(m); mirror = m.superclassMirror }
        for m in chain.reversed() {
            for child in m.children {
                guard let label = child.label, label != "isTraining" else { continue }
                if let keyed = child.value as? KeyedProperty {
                    children.append((keyed.key, keyed.anyValue))
                } else {
                    children.append((label.hasPrefix("_") ? String(label.dropFirst()) : label, child.value))
                }
            }
        }
        for (label, value) in children { Module.visit(prefix + label, value, visit) }
    }

    /// Optionals unwrap in the casts below: a `Tensor?` bias is a parameter when present.
    private static func visit(_ name: String, _ value: Any, _ visit: (String, Any) -> Void) {
        switch value {
        case let t as Tensor:
            visit(name, t)
        case let m as Module:
            visit(name, m)
            m.walk(prefix: name + ".", visit)
        case let list as [Module]:
            for (i, m) in list.enumerated() { Module.visit("\(name).\(i)", m, visit) }
        default:
            break  // other stored values (sizes, flags; a nil optional bias) are not parameters
        }
    }
}
