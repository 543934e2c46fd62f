using Google.Protobuf;
using SharpSeg.Onnx.Proto;

namespace SharpSeg.Onnx.Tests;

/// <summary>The checker passes a well-formed graph and names each kind of breakage.</summary>
public class OnnxModelCheckerTests
{
    internal static ModelProto AddOneModel()
    {
        var model = new ModelProto { IrVersion = 8, Graph = new GraphProto { Name = "add_one" } };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        model.Graph.Input.Add(Value("x"));
        var one = new TensorProto { Name = "one", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(1f)) };
        model.Graph.Initializer.Add(one);
        var node = new NodeProto { OpType = "Add", Name = "add" };
        node.Input.AddRange(["x", "one"]);
        node.Output.Add("y");
        model.Graph.Node.Add(node);
        model.Graph.Output.Add(Value("y"));
        return model;
    }

    private static ValueInfoProto Value(string name)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "n" });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    [Fact]
    public void WellFormedModelPasses() => Assert.Empty(OnnxModelChecker.Check(AddOneModel().ToByteArray()));

    [Fact]
    public void UndefinedInputIsNamed()
    {
        var model = AddOneModel();
        model.Graph.Node[0].Input[1] = "missing";
        Assert.Contains(OnnxModelChecker.Check(model), p => p.Contains("'missing'") && p.Contains("Add"));
    }

    [Fact]
    public void NodeUsingALaterNodesOutputBreaksTopologicalOrder()
    {
        var model = AddOneModel();
        var later = new NodeProto { OpType = "Relu", Name = "relu" };
        later.Input.Add("y");
        later.Output.Add("z");
        model.Graph.Node.Insert(0, later);
        Assert.Contains(OnnxModelChecker.Check(model), p => p.Contains("'y'") && p.Contains("earlier"));
    }

    [Fact]
    public void RedefinedValueAndUnproducedOutputAreNamed()
    {
        var model = AddOneModel();
        model.Graph.Node[0].Output[0] = "one";
        var problems = OnnxModelChecker.Check(model);
        Assert.Contains(problems, p => p.Contains("'one' redefines"));
        Assert.Contains(problems, p => p.Contains("graph output 'y' is produced by no node"));
    }

    [Fact]
    public void MissingOpsetTypeAndWrongInitializerSizeAreNamed()
    {
        var model = AddOneModel();
        model.OpsetImport.Clear();
        model.Graph.Input[0].Type.TensorType.ElemType = 0;
        model.Graph.Initializer[0].Dims.Add(3);
        var problems = OnnxModelChecker.Check(model);
        Assert.Contains(problems, p => p.Contains("opset"));
        Assert.Contains(problems, p => p.Contains("graph input 'x' has no tensor element type"));
        Assert.Contains(problems, p => p.Contains("'one' holds 1 values") && p.Contains("need 3"));
    }
}
