using System.Text.Json;
using SharpSeg.Models;
using SharpSeg.Training.Checkpoints;

namespace SharpSeg.Training.Tests.Checkpoints;

public class ModelOptionsJsonTests
{
    [Fact]
    public void DeepLabOptionsComeBackAsTheirOwnTypeWithTuplesIntact()
    {
        var options = new DeepLabV3PlusOptions(5, Backbone: "resnet18_vd", OutputStride: 8, PoolingCropSize: (769, 513), AsppDropout: 0.25);

        string json = ModelOptionsJson.Serialize(options);
        var back = ModelOptionsJson.Deserialize(json);

        Assert.Equal(options, Assert.IsType<DeepLabV3PlusOptions>(back));
        using var document = JsonDocument.Parse(json);
        Assert.Equal("SharpSeg.Models.DeepLabV3PlusOptions", document.RootElement.GetProperty("type").GetString());
        var saved = document.RootElement.GetProperty("options");
        Assert.Equal("resnet18_vd", saved.GetProperty("backbone").GetString());
        Assert.Equal(769, saved.GetProperty("pooling_crop_size").GetProperty("item1").GetInt32());
    }

    [Fact]
    public void EnumOptionsAndTheBaseRecordRoundTrip()
    {
        var unet = new UNetOptions(3, InChannels: 4, UpsampleMode: UNetUpsampleMode.TransposedConv);
        var plain = new ModelOptions(7, AlignCorners: true);

        Assert.Equal(unet, ModelOptionsJson.Deserialize(ModelOptionsJson.Serialize(unet)));
        Assert.Equal(plain, ModelOptionsJson.Deserialize(ModelOptionsJson.Serialize(plain)));
        Assert.Contains("\"TransposedConv\"", ModelOptionsJson.Serialize(unet));
    }

    [Fact]
    public void SurvivesACheckpointStateRoundTrip()
    {
        var options = new DeepLabV3PlusOptions(2, PoolingCropSize: (64, 32));
        var state = new CheckpointState { ModelName = "deeplabv3p", NumClasses = 2, ModelOptionsJson = ModelOptionsJson.Serialize(options) };

        var back = JsonSerializer.Deserialize<CheckpointState>(JsonSerializer.Serialize(state, TrainingJson.Indented), TrainingJson.Indented)!;

        Assert.Equal(options, ModelOptionsJson.Deserialize(back.ModelOptionsJson!));
    }

    [Fact]
    public void ARegisteredModelsOptionsAreReadByItsRegistryNameNotTheSavedTypeName()
    {
        var options = new DeepLabV3PlusOptions(4, Backbone: "resnet34_vd", OutputStride: 8);
        string renamed = ModelOptionsJson.Serialize(options).Replace("SharpSeg.Models.DeepLabV3PlusOptions", "SharpSeg.Models.Old.DeepLabOptions");

        Assert.Equal(options, ModelOptionsJson.Deserialize(renamed, "deeplabv3p"));
        Assert.Contains("'SharpSeg.Models.Old.DeepLabOptions' is not a ModelOptions record",
            Assert.Throws<ArgumentException>(() => ModelOptionsJson.Deserialize(renamed, "my_custom_model")).Message);
    }

    [Fact]
    public void OnlyModelOptionsTypesAreInstantiated()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelOptionsJson.Deserialize("""{"type":"System.IO.FileInfo","options":{}}"""));
        Assert.Contains("'System.IO.FileInfo' is not a ModelOptions record", e.Message);

        var malformed = Assert.Throws<ArgumentException>(() => ModelOptionsJson.Deserialize("""{"type":"SharpSeg.Models.UNetOptions","options":{"num_classes":"x"}}"""));
        Assert.Contains("does not fit", malformed.Message);
    }
}
