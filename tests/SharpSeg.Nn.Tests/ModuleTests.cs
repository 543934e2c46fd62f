namespace SharpSeg.Nn.Tests;

public class ModuleTests
{
    /// <summary>A module with its own parameter and buffer registered before a child, to pin torch's per-module order.</summary>
    private sealed class Mixed : TensorModule
    {
        public Mixed()
        {
            Scale = Param("scale", Tensor.Ones(2));
            Buffer("steps", Tensor.Zeros(1));
            Buffer("cache", Tensor.Zeros(3), persistent: false);
            Inner = Child("inner", new Linear(2, 2));
            Offset = Param("offset", Tensor.Zeros(2));
        }

        public Tensor Scale { get; }

        public Tensor Offset { get; }

        public Linear Inner { get; }

        public override Tensor Forward(Tensor x) => Inner.Forward(x * Scale + Offset);
    }

    private sealed class Tied : Module
    {
        public Tied()
        {
            var shared = new Linear(3, 3);
            First = Child("first", shared);
            Second = Child("second", shared);
        }

        public Linear First { get; }

        public Linear Second { get; }
    }

    private sealed class BadNames : Module
    {
        public void Register(string name) => Param(name, Tensor.Zeros(1));

        public void RegisterChild(string name) => Child(name, new Relu());
    }

    [Fact]
    public void StateDictFollowsTorchOrder_ParamsThenBuffersThenChildren()
    {
        var m = new Mixed();
        Assert.Equal(["scale", "offset", "steps", "inner.weight", "inner.bias"], m.StateDict().Keys);
        Assert.Equal(["scale", "offset", "inner.weight", "inner.bias"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal(["steps", "cache"], m.NamedBuffers().Select(b => b.Name));
        Assert.Equal(2 + 2 + 4 + 2, m.ParameterCount);
        Assert.All(m.Parameters(), p => Assert.True(p.RequiresGrad && p.IsLeaf));
    }

    [Fact]
    public void TinyResNetKeysAndShapesEqualTorchStateDict()
    {
        var expected = Golden.Keys("tiny_resnet_keys.txt");
        var actual = new TinyResNet().StateDict();
        Assert.Equal(expected.Select(e => e.Key), actual.Keys);
        foreach (var (key, shape) in expected) Assert.Equal(shape, actual[key].Shape.ToArray());
        Assert.Equal(DType.Int64, actual["bn1.num_batches_tracked"].DType);
        Assert.Equal(0, actual["bn1.num_batches_tracked"].Rank);
    }

    [Fact]
    public void SequentialNumbersChildrenCountingParameterlessOnes()
    {
        var seq = new Sequential(new Conv2d(3, 4, 3), new Relu(), new BatchNorm2d(4), new Dropout(), new MaxPool2d(2),
            new Sequential(new Identity(), new Linear(4, 2)));
        var expected = Golden.Keys("sequential_keys.txt");
        Assert.Equal(expected.Select(e => e.Key), seq.StateDict().Keys);
        Assert.Equal(["0", "1", "2", "3", "4", "5"], seq.NamedChildren().Select(c => c.Name));
        Assert.IsType<Relu>(seq[1]);
        Assert.Equal(6, seq.Count);
    }

    [Fact]
    public void ALoneSequentialArgumentIsRefusedInsteadOfAdoptingItsChildren()
    {
        var inner = new Sequential(new Conv2d(3, 4, 3), new Relu());
        var error = Assert.Throws<ArgumentException>(() => new Sequential(inner));
        Assert.Contains("new Sequential().Add(x)", error.Message);
        Assert.Equal(["0.0.weight", "0.0.bias"], new Sequential().Add(inner).StateDict().Keys);
    }

    [Fact]
    public void ModuleListNamesByPositionAndDoesNotRun()
    {
        var list = new ModuleList<Linear>(new Linear(2, 3), new Linear(3, 1, bias: false));
        list.Add(new Linear(1, 1));
        Assert.Equal(["0.weight", "0.bias", "1.weight", "2.weight", "2.bias"], list.StateDict().Keys);
        Assert.Equal(3, list.Count);
        Assert.Equal(1, list[1].OutFeatures);
    }

    [Fact]
    public void SharedChildCountsItsParametersOnceButKeepsBothStateKeys()
    {
        var m = new Tied();
        Assert.Equal(["first.weight", "first.bias"], m.NamedParameters().Select(p => p.Name));
        Assert.Equal(12, m.ParameterCount);
        Assert.Equal(["first.weight", "first.bias", "second.weight", "second.bias"], m.StateDict().Keys);
    }

    [Fact]
    public void RegistrationRejectsDuplicateAndDottedNames()
    {
        var m = new BadNames();
        m.Register("w");
        Assert.Contains("already has", Assert.Throws<ArgumentException>(() => m.Register("w")).Message);
        Assert.Contains("already has", Assert.Throws<ArgumentException>(() => m.RegisterChild("w")).Message);
        Assert.Contains("'a.b'", Assert.Throws<ArgumentException>(() => m.Register("a.b")).Message);
        Assert.Throws<ArgumentException>(() => m.Register(""));
    }

    [Fact]
    public void TrainAndEvalAreRecursive()
    {
        var model = new TinyResNet();
        Assert.All(model.Modules(), m => Assert.True(m.IsTraining));
        model.Eval();
        Assert.All(model.Modules(), m => Assert.False(m.IsTraining));
        Assert.True(model.Modules().Count() > 20);
        model.Train();
        Assert.All(model.Modules(), m => Assert.True(m.IsTraining));
    }

    [Fact]
    public void ZeroGradClearsEveryGradient()
    {
        var model = new Sequential(new Linear(3, 4), new Relu(), new Linear(4, 1));
        model.Forward(Tensor.Ones(new Shape(2, 3))).Sum().Backward();
        Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
        model.ZeroGrad();
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
    }

    [Fact]
    public void ApplyVisitsChildrenBeforeParentsInOrder()
    {
        var inner = new Sequential(new Relu(), new Tanh());
        var outer = new Sequential(new Identity(), inner);
        var visited = new List<string>();
        outer.Apply(m => visited.Add(m.GetType().Name));
        Assert.Equal(["Identity", "Relu", "Tanh", "Sequential", "Sequential"], visited);
    }

    [Fact]
    public void LoadStateDictCopiesInPlaceAndKeepsParameterIdentity()
    {
        var source = new Mixed();
        Init.Constant(source.Scale, 3);
        Init.Constant(source.Inner.Weight, -2);
        var target = new Mixed();
        var weight = target.Inner.Weight;
        var report = target.LoadStateDict(source.StateDict());

        Assert.True(report.IsExactMatch);
        Assert.Equal(5, report.LoadedCount);
        Assert.Same(weight, target.Inner.Weight);
        Assert.True(weight.RequiresGrad);
        Assert.All(weight.ToArray(), v => Assert.Equal(-2f, v));
        Assert.Equal([3f, 3f], target.Scale.ToArray());
        Init.Constant(source.Scale, 7);
        Assert.Equal([3f, 3f], target.Scale.ToArray());
    }

    [Fact]
    public void StrictLoadListsMissingAndUnexpectedKeysAndLoadsNothing()
    {
        var target = new Mixed();
        var before = target.Scale.ToArray();
        var dict = new Mixed().StateDict();
        Init.Constant(dict["scale"], 9);
        dict.Remove("inner.bias");
        dict.Add("extra.weight", Tensor.Zeros(1));

        var e = Assert.Throws<StateDictMismatchException>(() => target.LoadStateDict(dict));
        Assert.Equal(["inner.bias"], e.MissingKeys);
        Assert.Equal(["extra.weight"], e.UnexpectedKeys);
        Assert.Contains("inner.bias", e.Message);
        Assert.Contains("extra.weight", e.Message);
        Assert.Equal(before, target.Scale.ToArray());

        var report = target.LoadStateDict(dict, strict: false);
        Assert.Equal(["inner.bias"], report.MissingKeys);
        Assert.Equal(["extra.weight"], report.UnexpectedKeys);
        Assert.Equal([9f, 9f], target.Scale.ToArray());
    }

    [Fact]
    public void ShapeMismatchThrowsEvenWhenNotStrictUnlessAllowed()
    {
        var dict = new TinyResNet(numClasses: 5).StateDict();
        var model = new TinyResNet(numClasses: 7);
        var headBefore = model.StateDict()["classifier.2.weight"].ToArray();
        var convBefore = model.StateDict()["conv1.weight"].ToArray();

        var e = Assert.Throws<StateDictMismatchException>(() => model.LoadStateDict(dict, strict: false));
        Assert.Equal(["classifier.2.weight", "classifier.2.bias"], e.ShapeMismatches.Select(m => m.Key));
        Assert.Contains("classifier.2.weight: module has [7, 16], dictionary has [5, 16]", e.Message);
        Assert.Equal(convBefore, model.StateDict()["conv1.weight"].ToArray());

        var report = model.LoadStateDict(dict, allowShapeMismatch: key => key.StartsWith("classifier.", StringComparison.Ordinal));
        Assert.Equal(["classifier.2.weight", "classifier.2.bias"], report.SkippedShapeMismatches.Select(m => m.Key));
        Assert.Equal(new Shape(7, 16), report.SkippedShapeMismatches[0].Expected);
        Assert.Equal(new Shape(5, 16), report.SkippedShapeMismatches[0].Actual);
        Assert.Empty(report.MissingKeys);
        Assert.False(report.IsExactMatch);
        Assert.Equal(dict.Count - 2, report.LoadedCount);
        Assert.Equal(dict["conv1.weight"].ToArray(), model.StateDict()["conv1.weight"].ToArray());
        Assert.Equal(headBefore, model.StateDict()["classifier.2.weight"].ToArray());
    }

    [Fact]
    public void MissingNumBatchesTrackedIsTolerated()
    {
        var dict = new BatchNorm2d(3).StateDict();
        dict.Remove("num_batches_tracked");
        var report = new BatchNorm2d(3).LoadStateDict(dict);
        Assert.True(report.IsExactMatch);
        Assert.Equal(4, report.LoadedCount);
    }

    [Fact]
    public void ParameterCountEqualsTorchAndBackwardReachesEveryParameter()
    {
        var model = new TinyResNet();
        Assert.Equal(9853, model.ParameterCount);
        model.Forward(Tensor.Randn(new Shape(2, 3, 16, 16), new Random(4))).Square().Sum().Backward();
        foreach (var (name, p) in model.NamedParameters())
        {
            Assert.True(p.Grad is not null, $"{name} got no gradient");
            Assert.True(p.Grad!.Abs().Sum().Item() > 0, $"{name} got an all-zero gradient");
        }
        Assert.All(model.NamedBuffers(), b => Assert.False(b.Buffer.RequiresGrad));
    }
}
