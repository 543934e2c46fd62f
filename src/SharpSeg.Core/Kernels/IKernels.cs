namespace SharpSeg.Kernels;

/// <summary>Elementwise functions of one float argument.</summary>
internal enum UnaryOp
{
    Neg, Abs, Exp, Log, Sqrt, Rsqrt, Reciprocal, Square,
    Relu, Relu6, Sigmoid, Tanh, Hardsigmoid, Hardswish, Gelu, Silu,
}

/// <summary>Elementwise functions of two float arguments.</summary>
internal enum BinaryOp
{
    Add, Sub, Mul, Div, Max, Min, Pow,
    // Comparisons yield 1 where true and 0 where false.
    Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual,
}

/// <summary>Reductions along one axis.</summary>
internal enum ReduceOp { Sum, Max, Min }

/// <summary>
/// The seam between tensors and arithmetic. Every method works on contiguous spans with explicit sizes and
/// knows nothing of tensors or autograd; shapes were validated by the caller. Outputs are overwritten unless
/// a method says it accumulates. <see cref="CpuKernels"/> is the fast implementation, <see cref="ReferenceKernels"/>
/// the obvious-loops oracle the tests compare it against.
/// </summary>
internal interface IKernels
{
    // ---- elementwise ------------------------------------------------------------------------------------

    /// <summary>y[i] = op(x[i]).</summary>
    void Unary(UnaryOp op, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>
    /// y[i] = max(y[i] + residual[i], 0) in place: the add rounded first, then the ReLU, so the values equal an Add
    /// followed by a ReLU bit for bit (the epilogue of a training-mode batch norm that closes a residual block).
    /// </summary>
    void AddReluInPlace(Span<float> y, ReadOnlySpan<float> residual);

    /// <summary>
    /// y[i] = op(a[i or 0], b[i or 0]) for i in [0, y.Length): an operand flagged scalar is read at index 0
    /// for every i (one broadcast run of a larger broadcast).
    /// </summary>
    void Binary(BinaryOp op, ReadOnlySpan<float> a, bool aScalar, ReadOnlySpan<float> b, bool bScalar, Span<float> y);

    /// <summary>dx[i] = dy[i] · op′(x[i]), where y = op(x) is given for derivatives cheaper from the output (exp, sigmoid, tanh…).</summary>
    void UnaryBackward(UnaryOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx);

    // ---- reductions ---------------------------------------------------------------------------------------

    /// <summary>y[o, i] = reduce over d of x[o, d, i], for x viewed as [outer, dim, inner].</summary>
    void Reduce(ReduceOp op, int outer, int dim, int inner, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>indices[o, i] = the first d maximising (or minimising) x[o, d, i] (NaN counts as the maximum, as in torch).</summary>
    void ArgReduce(bool max, int outer, int dim, int inner, ReadOnlySpan<float> x, Span<long> indices);

    // ---- dense linear algebra ---------------------------------------------------------------------------

    /// <summary>
    /// C[m×n] = op(A)[m×k] · op(B)[k×n] (+ C when <paramref name="accumulate"/>), row-major with leading dimensions;
    /// op(A) = Aᵀ when <paramref name="transA"/> (A stored k×m), likewise B.
    /// </summary>
    void Gemm(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate);

    // ---- convolution ------------------------------------------------------------------------------------

    /// <summary>y = conv2d(x, w) + bias (bias may be empty).</summary>
    void Conv2dForward(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> y);

    /// <summary>
    /// The weight of <paramref name="g"/> in whatever form <see cref="Conv2dForwardFused"/> reads fastest, made once and
    /// reused while <paramref name="w"/> is unchanged (the caller tracks that). <paramref name="reuse"/> is an earlier result
    /// whose memory may be recycled. Null when this backend reads the plain weight anyway.
    /// </summary>
    object? PrepareConv2dWeight(in Conv2dGeometry g, ReadOnlySpan<float> w, object? reuse);

    /// <summary>
    /// y = act(conv2d(x, w) + bias + residual): bias and residual may be empty; <paramref name="prepared"/> is null or a
    /// result of <see cref="PrepareConv2dWeight"/> for this <paramref name="w"/>. The residual add and the activation run
    /// in the order of the separate ops, so the result equals conv2d, then add, then the activation.
    /// </summary>
    void Conv2dForwardFused(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> residual, FusedActivation activation, Span<float> y, object? prepared);

    /// <summary>dx = ∂L/∂x given dy (overwrites dx). Also the forward pass of conv_transpose2d.</summary>
    void Conv2dBackwardInput(in Conv2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx);

    /// <summary>dw = ∂L/∂w and, when non-empty, dbias = ∂L/∂bias (both overwritten).</summary>
    void Conv2dBackwardWeight(in Conv2dGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dw, Span<float> dbias);

    // ---- pooling and resampling ---------------------------------------------------------------------------

    /// <summary>Max pooling; <paramref name="argmax"/> receives the flat index (within the input plane) of each max, -inf padding.</summary>
    void MaxPool2dForward(in Pool2dGeometry g, ReadOnlySpan<float> x, Span<float> y, Span<int> argmax);

    /// <summary>dx = scatter-add of dy at argmax (overwrites dx).</summary>
    void MaxPool2dBackward(in Pool2dGeometry g, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, Span<float> dx);

    /// <summary>Average pooling with torch's divisor rule (count_include_pad counts padding but not the ceil_mode overhang).</summary>
    void AvgPool2dForward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Backward of <see cref="AvgPool2dForward"/> (overwrites dx).</summary>
    void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> dy, Span<float> dx);

    /// <summary>adaptive_avg_pool2d: output cell (i, j) averages rows [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉) and likewise columns.</summary>
    void AdaptiveAvgPool2dForward(int batch, int channels, int inH, int inW, int outH, int outW, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Backward of <see cref="AdaptiveAvgPool2dForward"/> (overwrites dx).</summary>
    void AdaptiveAvgPool2dBackward(int batch, int channels, int inH, int inW, int outH, int outW, ReadOnlySpan<float> dy, Span<float> dx);

    /// <summary>
    /// Bilinear resize of <c>planes</c> = N·C planes (torch semantics for both <paramref name="alignCorners"/> values;
    /// with align_corners false the source coordinate is (dst + 0.5)·scale − 0.5 clamped at 0, where scale is
    /// <paramref name="scaleH"/> when given (&gt; 0, the reciprocal of a user scale_factor) else inH/outH).
    /// </summary>
    void BilinearForward(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW,
        ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Backward of <see cref="BilinearForward"/> (overwrites dx).</summary>
    void BilinearBackward(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW,
        ReadOnlySpan<float> dy, Span<float> dx);

    /// <summary>Nearest resize, torch's legacy "nearest": src = min(floor(dst · scale), in − 1).</summary>
    void NearestForward(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Backward of <see cref="NearestForward"/> (overwrites dx).</summary>
    void NearestBackward(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW, ReadOnlySpan<float> dy, Span<float> dx);

    // ---- normalisation --------------------------------------------------------------------------------------

    /// <summary>Per-channel mean and biased variance of x viewed as [batch, channels, plane].</summary>
    void ChannelMeanVar(int batch, int channels, int plane, ReadOnlySpan<float> x, Span<float> mean, Span<float> variance);

    /// <summary>
    /// y = (x − mean[c]) · invStd[c] · gamma[c] + beta[c], optionally followed by ReLU; gamma/beta may be empty (1 and 0).
    /// </summary>
    void ChannelNormalize(int batch, int channels, int plane, ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, bool relu, Span<float> y);

    /// <summary>
    /// Backward of training-mode batch norm: given dy, x, batch mean and invStd, writes dx (when non-empty),
    /// dgamma and dbeta (when non-empty). dx = γ·invStd·(dy − mean(dy) − x̂·mean(dy·x̂)).
    /// </summary>
    void BatchNormBackward(int batch, int channels, int plane, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma,
        Span<float> dx, Span<float> dgamma, Span<float> dbeta);

    /// <summary>
    /// <see cref="BatchNormBackward"/> of a training-mode batch norm whose output went through a ReLU: <paramref name="dy"/>
    /// is the ReLU's upstream gradient and <paramref name="reluOutput"/> its output, and the normalisation's gradient is
    /// taken as reluOutput &gt; 0 ? dy : 0 without being stored. The results equal the ReLU backward followed by
    /// <see cref="BatchNormBackward"/>, bit for bit.
    /// </summary>
    void BatchNormReluBackward(int batch, int channels, int plane, ReadOnlySpan<float> dy, ReadOnlySpan<float> reluOutput,
        ReadOnlySpan<float> x, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd, ReadOnlySpan<float> gamma,
        Span<float> dx, Span<float> dgamma, Span<float> dbeta);

    // ---- softmax family ----------------------------------------------------------------------------------

    /// <summary>Softmax (or log-softmax) over the middle axis of x viewed as [outer, dim, inner].</summary>
    void SoftmaxForward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>Backward given the forward output y: softmax dx = y·(dy − Σdy·y); log-softmax dx = dy − exp(y)·Σdy.</summary>
    void SoftmaxBackward(int outer, int dim, int inner, bool log, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx);
}
