using SharpSeg.Nn.Losses;

namespace SharpSeg.Nn.Tests.Losses;

public class GoldenLossTests
{
    public static TheoryData<string> Cases() => [.. LossGolden.CaseNames()];

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossAndGradientMatchPyTorch(string name)
    {
        var c = LossGolden.Case(name);
        var logits = LossGolden.Logits(c);
        logits.RequiresGrad = true;

        var loss = LossGolden.LossOf(c).Forward(logits, LossGolden.Labels(c));
        loss.Backward();

        float expected = c.GetProperty("expected_loss").GetSingle();
        Assert.True(loss.Shape.Rank == 0, $"{name}: loss shape {loss.Shape}");
        Assert.True(Math.Abs(loss.Item() - expected) <= 1e-5 + 1e-5 * Math.Abs(expected), $"{name}: loss {loss.Item()}, PyTorch {expected}");
        var expectedGrad = Tensor.FromArray(LossGolden.Floats(c.GetProperty("expected_grad")), LossGolden.Ints(c.GetProperty("logits_shape")));
        Golden.AssertClose(expectedGrad, logits.Grad!, atol: 1e-6, rtol: 1e-4, what: $"{name} d/dlogits");
    }

    [Fact]
    public void FixtureCoversIgnoredPixelsInEveryCase()
    {
        foreach (string name in LossGolden.CaseNames())
            Assert.Contains(255, LossGolden.Ints(LossGolden.Case(name).GetProperty("labels")));
    }

    [Fact]
    public void DynamicWeightsMatchPyTorch()
    {
        var c = LossGolden.Case("ce_dynamic");
        var expected = LossGolden.Floats(c.GetProperty("params").GetProperty("dynamic_weights"));
        var actual = new CrossEntropyLoss(ClassWeight.Dynamic).WeightsFor(LossGolden.Labels(c), expected.Length)!;
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
    }

    [Fact]
    public void LossListWeighsEachOutputAndReachesBoth()
    {
        var c = LossGolden.Root.GetProperty("loss_list");
        var main = LossGolden.Logits(c);
        var aux = LossGolden.Logits(c, "aux_logits");
        main.RequiresGrad = true;
        aux.RequiresGrad = true;
        var coefs = LossGolden.Floats(c.GetProperty("coefs"));
        var list = new LossList([(new CrossEntropyLoss(), coefs[0]), (new CrossEntropyLoss(), coefs[1])]);

        var total = list.Forward([main, aux], LossGolden.Labels(c));
        total.Backward();

        Assert.Equal(c.GetProperty("expected_loss").GetSingle(), total.Item(), 1e-5f);
        var shape = LossGolden.Ints(c.GetProperty("logits_shape"));
        Golden.AssertClose(Tensor.FromArray(LossGolden.Floats(c.GetProperty("expected_grad")), shape), main.Grad!, 1e-6, 1e-4, "main");
        Golden.AssertClose(Tensor.FromArray(LossGolden.Floats(c.GetProperty("expected_aux_grad")), shape), aux.Grad!, 1e-6, 1e-4, "aux");
    }
}
