using SharpSeg.Kernels;
using SharpSeg.Ops;
using SharpSeg.Tracing;

namespace SharpSeg;

public sealed partial class Tensor
{
    // ---- arithmetic with NumPy broadcasting --------------------------------------------------------------

    /// <summary>Elementwise sum with broadcasting. Equivalent to <c>torch.add</c>.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Elementwise.Binary(BinaryOp.Add, a, b, "Add");

    /// <summary>Elementwise difference with broadcasting. Equivalent to <c>torch.sub</c>.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Elementwise.Binary(BinaryOp.Sub, a, b, "Sub");

    /// <summary>Elementwise product with broadcasting. Equivalent to <c>torch.mul</c>.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Elementwise.Binary(BinaryOp.Mul, a, b, "Mul");

    /// <summary>Elementwise quotient with broadcasting. Equivalent to <c>torch.div</c>.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Elementwise.Binary(BinaryOp.Div, a, b, "Div");

    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(Tensor a, float b) => a + Scalar(b);

    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(float a, Tensor b) => Scalar(a) + b;

    /// <summary>Subtracts a constant.</summary>
    public static Tensor operator -(Tensor a, float b) => a - Scalar(b);

    /// <summary>Subtracts from a constant.</summary>
    public static Tensor operator -(float a, Tensor b) => Scalar(a) - b;

    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(Tensor a, float b) => a * Scalar(b);

    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(float a, Tensor b) => Scalar(a) * b;

    /// <summary>Divides by a constant.</summary>
    public static Tensor operator /(Tensor a, float b) => a / Scalar(b);

    /// <summary>Divides a constant.</summary>
    public static Tensor operator /(float a, Tensor b) => Scalar(a) / b;

    /// <summary>Negation. Equivalent to <c>torch.neg</c>.</summary>
    public static Tensor operator -(Tensor a) => a.Neg();

    /// <summary>Elementwise maximum with broadcasting; ties split the gradient evenly. Equivalent to <c>torch.maximum</c>.</summary>
    public Tensor Maximum(Tensor other) => Elementwise.Binary(BinaryOp.Max, this, other, "Maximum");

    /// <summary>Elementwise minimum with broadcasting; ties split the gradient evenly. Equivalent to <c>torch.minimum</c>.</summary>
    public Tensor Minimum(Tensor other) => Elementwise.Binary(BinaryOp.Min, this, other, "Minimum");

    /// <summary>this ^ exponent elementwise with broadcasting. Equivalent to <c>torch.pow(self, exponent)</c>.</summary>
    public Tensor Pow(Tensor exponent) => Elementwise.Binary(BinaryOp.Pow, this, exponent, "Pow");

    /// <summary>this ^ exponent for a constant exponent. Equivalent to <c>torch.pow(self, exponent)</c>.</summary>
    public Tensor Pow(float exponent) => Elementwise.Binary(BinaryOp.Pow, this, Scalar(exponent), "Pow");

    // ---- comparisons: float masks (1 true, 0 false), never differentiable --------------------------------

    /// <summary>1 where equal, else 0. Equivalent to <c>torch.eq</c> (as float).</summary>
    public Tensor Eq(Tensor other) => Elementwise.Compare(BinaryOp.Equal, this, other, "Eq");

    /// <summary>1 where not equal, else 0. Equivalent to <c>torch.ne</c> (as float).</summary>
    public Tensor Ne(Tensor other) => Elementwise.Compare(BinaryOp.NotEqual, this, other, "Ne");

    /// <summary>1 where this &lt; other. Equivalent to <c>torch.lt</c> (as float).</summary>
    public Tensor Lt(Tensor other) => Elementwise.Compare(BinaryOp.Less, this, other, "Lt");

    /// <summary>1 where this ≤ other. Equivalent to <c>torch.le</c> (as float).</summary>
    public Tensor Le(Tensor other) => Elementwise.Compare(BinaryOp.LessEqual, this, other, "Le");

    /// <summary>1 where this &gt; other. Equivalent to <c>torch.gt</c> (as float).</summary>
    public Tensor Gt(Tensor other) => Elementwise.Compare(BinaryOp.Greater, this, other, "Gt");

    /// <summary>1 where this ≥ other. Equivalent to <c>torch.ge</c> (as float).</summary>
    public Tensor Ge(Tensor other) => Elementwise.Compare(BinaryOp.GreaterEqual, this, other, "Ge");

    /// <summary>Compares with a constant (see <see cref="Eq(Tensor)"/>).</summary>
    public Tensor Eq(float value) => Eq(Scalar(value));

    /// <summary>Compares with a constant (see <see cref="Gt(Tensor)"/>).</summary>
    public Tensor Gt(float value) => Gt(Scalar(value));

    /// <summary>Compares with a constant (see <see cref="Lt(Tensor)"/>).</summary>
    public Tensor Lt(float value) => Lt(Scalar(value));

    /// <summary>
    /// Picks <paramref name="a"/> where <paramref name="condition"/> is non-zero, else <paramref name="b"/>, all three
    /// broadcast together. Equivalent to <c>torch.where</c>.
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => Elementwise.Where(condition, a, b);

    // ---- unary functions and activations ------------------------------------------------------------------

    /// <summary>Equivalent to <c>torch.neg</c>.</summary>
    public Tensor Neg() => Elementwise.Unary(UnaryOp.Neg, this);

    /// <summary>Equivalent to <c>torch.abs</c>.</summary>
    public Tensor Abs() => Elementwise.Unary(UnaryOp.Abs, this);

    /// <summary>Equivalent to <c>torch.exp</c>.</summary>
    public Tensor Exp() => Elementwise.Unary(UnaryOp.Exp, this);

    /// <summary>Natural logarithm. Equivalent to <c>torch.log</c>.</summary>
    public Tensor Log() => Elementwise.Unary(UnaryOp.Log, this);

    /// <summary>Equivalent to <c>torch.sqrt</c>.</summary>
    public Tensor Sqrt() => Elementwise.Unary(UnaryOp.Sqrt, this);

    /// <summary>1/√x. Equivalent to <c>torch.rsqrt</c>.</summary>
    public Tensor Rsqrt() => Elementwise.Unary(UnaryOp.Rsqrt, this);

    /// <summary>1/x. Equivalent to <c>torch.reciprocal</c>.</summary>
    public Tensor Reciprocal() => Elementwise.Unary(UnaryOp.Reciprocal, this);

    /// <summary>x². Equivalent to <c>torch.square</c>.</summary>
    public Tensor Square() => Elementwise.Unary(UnaryOp.Square, this);

    /// <summary>max(x, 0). Equivalent to <c>torch.nn.functional.relu</c>.</summary>
    public Tensor Relu() => Elementwise.Unary(UnaryOp.Relu, this);

    /// <summary>min(max(x, 0), 6). Equivalent to <c>torch.nn.functional.relu6</c>.</summary>
    public Tensor Relu6() => Elementwise.Unary(UnaryOp.Relu6, this);

    /// <summary>x for x &gt; 0, else slope·x. Equivalent to <c>torch.nn.functional.leaky_relu</c>.</summary>
    public Tensor LeakyRelu(float negativeSlope = 0.01f) => Elementwise.LeakyRelu(this, negativeSlope);

    /// <summary>1/(1+e^−x). Equivalent to <c>torch.sigmoid</c>.</summary>
    public Tensor Sigmoid() => Elementwise.Unary(UnaryOp.Sigmoid, this);

    /// <summary>Equivalent to <c>torch.tanh</c>.</summary>
    public Tensor Tanh() => Elementwise.Unary(UnaryOp.Tanh, this);

    /// <summary>clamp(x/6 + 1/2, 0, 1). Equivalent to <c>torch.nn.functional.hardsigmoid</c>.</summary>
    public Tensor Hardsigmoid() => Elementwise.Unary(UnaryOp.Hardsigmoid, this);

    /// <summary>x · hardsigmoid(x). Equivalent to <c>torch.nn.functional.hardswish</c>.</summary>
    public Tensor Hardswish() => Elementwise.Unary(UnaryOp.Hardswish, this);

    /// <summary>x·Φ(x) with the exact erf form. Equivalent to <c>torch.nn.functional.gelu</c> (approximate='none').</summary>
    public Tensor Gelu() => Elementwise.Unary(UnaryOp.Gelu, this);

    /// <summary>x·sigmoid(x). Equivalent to <c>torch.nn.functional.silu</c>.</summary>
    public Tensor Silu() => Elementwise.Unary(UnaryOp.Silu, this);

    /// <summary>
    /// Limits values to [min, max] (either bound optional); the gradient passes where min ≤ x ≤ max.
    /// Equivalent to <c>torch.clamp</c>.
    /// </summary>
    public Tensor Clamp(float? min = null, float? max = null) => Elementwise.Clamp(this, min, max);

    /// <summary>Matrix product with broadcast batch axes. Equivalent to <c>torch.matmul</c>.</summary>
    public Tensor Matmul(Tensor other)
    {
        var recorder = OpRecorder.Enter();
        var y = LinearAlgebra.Matmul(this, other);
        return recorder is null ? y : recorder.Exit(y, "Matmul", [this, other]);
    }
}
