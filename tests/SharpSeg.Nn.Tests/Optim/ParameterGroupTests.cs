using SharpSeg.Nn.Optim;

namespace SharpSeg.Nn.Tests.Optim;

public class ParameterGroupTests
{
    [Fact]
    public void RankOneTensorsGoToTheNoDecayGroup()
    {
        var net = new TinyNet();
        var groups = ParameterGroup.SplitByWeightDecay(net.Parameters, learningRateMultiplier: 0.1);
        Assert.Equal(2, groups.Count);
        Assert.Equal([net["conv_w"], net["fc_w"]], groups[0].Parameters);
        Assert.Null(groups[0].WeightDecay);
        Assert.Equal([net["bn_w"], net["bn_b"], net["fc_b"]], groups[1].Parameters);
        Assert.Equal(0.0, groups[1].WeightDecay);
        Assert.All(groups, g => Assert.Equal(0.1, g.LearningRateMultiplier));
    }

    [Fact]
    public void ANamePredicateDecidesWhenGiven()
    {
        var net = new TinyNet();
        var groups = ParameterGroup.SplitByWeightDecay(net.NamedParameters, (name, _) => name.EndsWith("_b", StringComparison.Ordinal));
        Assert.Equal([net["conv_w"], net["bn_w"], net["fc_w"]], groups[0].Parameters);
        Assert.Equal([net["bn_b"], net["fc_b"]], groups[1].Parameters);
    }

    [Fact]
    public void EmptyGroupsAreLeftOut()
    {
        var net = new TinyNet();
        var groups = ParameterGroup.SplitByWeightDecay([net["bn_w"], net["fc_b"]]);
        var group = Assert.Single(groups);
        Assert.Equal(0.0, group.WeightDecay);
    }

    [Fact]
    public void AModulesNamedParametersSplitIntoWeightsAndNormOrBiasTensors()
    {
        var model = new Sequential(new Conv2d(3, 8, 3, bias: true), new BatchNorm2d(8), new Linear(8, 2));
        var groups = ParameterGroup.SplitByWeightDecay(model.NamedParameters());
        var names = model.NamedParameters().ToDictionary(p => p.Parameter, p => p.Name);
        Assert.Equal(["0.weight", "2.weight"], groups[0].Parameters.Select(p => names[p]));
        Assert.Equal(["0.bias", "1.weight", "1.bias", "2.bias"], groups[1].Parameters.Select(p => names[p]));
    }
}
