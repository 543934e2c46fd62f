namespace SharpSeg.Kernels;

/// <summary>One-element definitions of the elementwise ops, with torch's formulas; the reference for the SIMD paths.</summary>
internal static class ScalarMath
{
    public static float Unary(UnaryOp op, float x) => op switch
    {
        UnaryOp.Neg => -x,
        UnaryOp.Abs => MathF.Abs(x),
        UnaryOp.Exp => MathF.Exp(x),
        UnaryOp.Log => MathF.Log(x),
        UnaryOp.Sqrt => MathF.Sqrt(x),
        UnaryOp.Rsqrt => 1f / MathF.Sqrt(x),
        UnaryOp.Reciprocal => 1f / x,
        UnaryOp.Square => x * x,
        UnaryOp.Relu => x > 0f ? x : 0f,
        UnaryOp.Relu6 => Math.Clamp(x, 0f, 6f),
        UnaryOp.Sigmoid => 1f / (1f + MathF.Exp(-x)),
        UnaryOp.Tanh => MathF.Tanh(x),
        UnaryOp.Hardsigmoid => Math.Clamp(x / 6f + 0.5f, 0f, 1f),
        UnaryOp.Hardswish => x * Math.Clamp(x / 6f + 0.5f, 0f, 1f),
        UnaryOp.Gelu => (float)(0.5 * x * (1.0 + Erf(x / Math.Sqrt(2.0)))),
        UnaryOp.Silu => x / (1f + MathF.Exp(-x)),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };

    /// <summary>dy · op′(x), with y = op(x); at kinks torch's one-sided choice (relu′(0) = 0, relu6′(6) = 0, hardswish′(±3) as torch).</summary>
    public static float UnaryDerivative(UnaryOp op, float x, float y, float dy) => op switch
    {
        UnaryOp.Neg => -dy,
        UnaryOp.Abs => x > 0 ? dy : x < 0 ? -dy : 0f,
        UnaryOp.Exp => dy * y,
        UnaryOp.Log => dy / x,
        UnaryOp.Sqrt => dy / (2f * y),
        UnaryOp.Rsqrt => -0.5f * dy * y * y * y,
        UnaryOp.Reciprocal => -dy * y * y,
        UnaryOp.Square => 2f * dy * x,
        UnaryOp.Relu => x > 0f ? dy : 0f,
        UnaryOp.Relu6 => x > 0f && x < 6f ? dy : 0f,
        UnaryOp.Sigmoid => dy * y * (1f - y),
        UnaryOp.Tanh => dy * (1f - y * y),
        UnaryOp.Hardsigmoid => x > -3f && x < 3f ? dy / 6f : 0f,
        UnaryOp.Hardswish => x < -3f ? 0f : x <= 3f ? dy * (x / 3f + 0.5f) : dy,
        UnaryOp.Gelu => (float)(dy * (0.5 * (1.0 + Erf(x / Math.Sqrt(2.0))) + x * Math.Exp(-0.5 * x * x) / Math.Sqrt(2.0 * Math.PI))),
        UnaryOp.Silu => SiluDerivative(x, dy),
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };

    private static float SiluDerivative(float x, float dy)
    {
        float s = 1f / (1f + MathF.Exp(-x));
        return dy * s * (1f + x * (1f - s));
    }

    public static float Binary(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        BinaryOp.Max => a >= b || float.IsNaN(a) ? a : b,
        BinaryOp.Min => a <= b || float.IsNaN(a) ? a : b,
        BinaryOp.Pow => MathF.Pow(a, b),
        BinaryOp.Equal => a == b ? 1f : 0f,
        BinaryOp.NotEqual => a != b ? 1f : 0f,
        BinaryOp.Less => a < b ? 1f : 0f,
        BinaryOp.LessEqual => a <= b ? 1f : 0f,
        BinaryOp.Greater => a > b ? 1f : 0f,
        BinaryOp.GreaterEqual => a >= b ? 1f : 0f,
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };

    /// <summary>Error function (Abramowitz–Stegun 7.1.26 is too coarse for GELU's 1e-6; this series/continued fraction is exact to ~1e-15).</summary>
    public static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double result;
        if (ax < 2.5)
        {
            // Maclaurin series: erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)).
            double term = ax, sum = ax, x2 = ax * ax;
            for (int n = 1; n < 60; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            result = 2.0 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // Continued fraction for erfc, evaluated backwards (Lentz not needed at this depth).
            double f = 0;
            for (int n = 60; n >= 1; n--) f = n / 2.0 / (ax + f);
            result = 1.0 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -result : result;
    }
}
