// Reverse-mode autodiff: each recorded op leaves a Node on its output; backward() orders the
// nodes reachable from the loss (the tape) and runs their backward kernels in reverse.

/// Whether ops record themselves for differentiation. Off inside `noGrad { }`.
public enum GradMode {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording anything: evaluation, logit export, generation.
public func noGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$isEnabled.withValue(false) { try body() }
}

/// How an output was made: its inputs and the kernel that sends the output's gradient back.
final class Node {
    let name: String
    let inputs: [Tensor]
    /// Called with the output tensor and its gradient; accumulates into the inputs' gradients.
    let backward: (_ output: Tensor, _ outputGrad: Tensor) throws -> Void

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor, Tensor) throws -> Void) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

extension Tensor {
    /// True when an op on `inputs` should be recorded.
    static func shouldRecord(_ inputs: [Tensor]) -> Bool {
        inputs.contains { $0.requiresGrad } && GradMode.isEnabled
    }

    /// Records `output` as made from `inputs` by an op named `name`, if recording applies.
    @discardableResult
    func recorded(_ name: String, _ inputs: [Tensor],
                  backward: @escaping (_ output: Tensor, _ outputGrad: Tensor) throws -> Void) -> Tensor {
        if Tensor.shouldRecord(inputs) {
            requiresGrad = true
            node = Node(name: name, inputs: inputs, backward: backward)
        }
        return self
    }

    /// The gradient buffer of this tensor, allocated (zeroed) on first use; for accumulation.
    func gradBuffer() -> UnsafeMutablePointer<Float> {
        if let g = grad { return g.data }
        let g = Tensor(shape: shape, storage: Storage(count: count, zeroed: true))
        grad = g
        return g.data
    }

    /// The gradient buffer for a kernel that can overwrite it (BLAS with beta): on first use it is
    /// allocated without zeroing and beta is 0; afterwards beta is 1 (accumulate). Saves zeroing
    /// and re-reading every fresh activation gradient.
    func gradBufferForBLAS() -> (pointer: UnsafeMutablePointer<Float>, beta: Float) {
        if let g = grad { return (g.data, 1) }
        let g = Tensor(shape: shape, storage: Storage(count: count, zeroed: false))
        grad = g
        return (g.data, 0)
    }

    /// The gradient buffer for an elementwise kernel that writes every element: on first use it
    /// is allocated without zeroing and `fresh` is true (the kernel stores); afterwards it is the
    /// existing buffer and `fresh` is false (the kernel adds). Saves zeroing and re-reading.
    func gradBufferForOverwrite() -> (pointer: UnsafeMutablePointer<Float>, fresh: Bool) {
        let (pointer, beta) = gradBufferForBLAS()
        return (pointer, beta == 0)
    }

    /// Back-propagates from this scalar: fills `grad` of every tensor that requires it.
    /// Intermediate gradients and the recorded graph are released as they are used.
    public func backward() throws {
        guard count == 1 else {
            throw TensorError("backward(): needs a one-element loss, got shape \(shape)")
        }
        guard requiresGrad else {
            throw TensorError("backward(): this tensor does not depend on any tensor that requires a gradient")
        }
        gradBuffer().pointee += 1
        for tensor in topologicalOrder().reversed() {
            guard let node = tensor.node else { continue }
            if let g = tensor.grad { try node.backward(tensor, g) }
            // Release the graph and the intermediate gradient: only leaves keep theirs.
            tensor.node = nil
            tensor.grad = nil
        }
    }

    /// The recorded tensors reachable from this one, each after all of its inputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        // Iterative post-order DFS: deep graphs must not overflow the stack.
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded { order.append(tensor); continue }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            for input in tensor.node?.inputs ?? [] where input.node != nil {
                if !visited.contains(ObjectIdentifier(input)) { stack.append((input, false)) }
            }
        }
        return order
    }
}

extension Tensor {
    /// Runs only the backward kernel of the op that made this tensor, with `gradient` as its
    /// output gradient (accumulating into the inputs' gradients). For benchmarks that time one
    /// kernel; training uses `backward()`.
    public func runBackwardKernel(gradient: Tensor) throws {
        guard let node else { throw TensorError("runBackwardKernel: this tensor was not made by a recorded op") }
        guard gradient.shape == shape else {
            throw TensorError("runBackwardKernel: gradient \(gradient.shape) does not match output \(shape)")
        }
        try node.backward(self, gradient)
    }
}
