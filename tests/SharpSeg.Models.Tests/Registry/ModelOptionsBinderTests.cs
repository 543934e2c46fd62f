namespace SharpSeg.Models.Tests.Registry;

/// <summary>Text options → model options records, as the CLI and configs use them.</summary>
public class ModelOptionsBinderTests
{
    [Fact]
    public void NamesMatchInPascalKebabOrSnakeCaseAndValuesParseToTheRecordsTypes()
    {
        var options = (DeepLabV3PlusOptions)ModelOptionsBinder.Create(typeof(DeepLabV3PlusOptions), 5, new Dictionary<string, string>
        {
            ["backbone"] = "resnet18_vd", ["output-stride"] = "8", ["aspp_with_sep_conv"] = "false", ["PoolingCropSize"] = "512,256",
            ["asppDropout"] = "0.25",
        });
        Assert.Equal(new DeepLabV3PlusOptions(5, Backbone: "resnet18_vd", OutputStride: 8, AsppWithSepConv: false, PoolingCropSize: (512, 256),
            AsppDropout: 0.25), options);
        var unet = (UNetOptions)ModelOptionsBinder.Create(typeof(UNetOptions), 2, new Dictionary<string, string> { ["upsample-mode"] = "deconv" });
        Assert.Equal(UNetUpsampleMode.TransposedConv, unet.UpsampleMode);
    }

    [Fact]
    public void BadValuesNameTheOptionTheValueAndWhatIsAccepted()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelOptionsBinder.Create(typeof(UNetOptions), 2,
            new Dictionary<string, string> { ["upsample-mode"] = "cubic" }));
        Assert.Contains("UNetOptions.UpsampleMode: 'cubic'", error.Message);
        Assert.Contains("deconv", error.Message);
        error = Assert.Throws<ArgumentException>(() => ModelOptionsBinder.Create(typeof(DeepLabV3PlusOptions), 2,
            new Dictionary<string, string> { ["pooling-crop-size"] = "512" }));
        Assert.Contains("'512' is not a valid size W,H", error.Message);
        error = Assert.Throws<ArgumentException>(() => ModelOptionsBinder.Create(typeof(UNetOptions), 2, new Dictionary<string, string> { ["backbone"] = "x" }));
        Assert.Contains("UNetOptions has no option 'backbone'; it takes in-channels, align-corners, upsample-mode", error.Message);
    }

    [Fact]
    public void ListsAndNullablesReadAndFormatBack()
    {
        Assert.Equal("1,0.4", ModelOptionsBinder.Format(new[] { 1.0, 0.4 }));
        Assert.Equal("none", ModelOptionsBinder.Format(null));
        Assert.Equal("512,256", ModelOptionsBinder.Format((512, 256)));
        var options = (DeepLabV3PlusOptions)ModelOptionsBinder.Create(typeof(DeepLabV3PlusOptions), 2, new Dictionary<string, string> { ["output-stride"] = "none" });
        Assert.Null(options.OutputStride);
        Assert.True(ModelOptionsBinder.ValuesEqual(new[] { 1.0, 0.4 }, new List<double> { 1.0, 0.4 }));
        Assert.False(ModelOptionsBinder.ValuesEqual(new[] { 1.0, 0.4 }, new[] { 1.0 }));
    }

    [Fact]
    public void A_paddleseg_flag_declared_on_an_option_names_its_key_and_both_values_which_bind()
    {
        // PaddleSeg's UNet(use_deconv=...) sets SharpSeg's UpsampleMode; the config reader finds it here, naming no model.
        var upsample = Assert.Single(ModelOptionsBinder.Describe(typeof(UNetOptions)), o => o.PaddleSegFlag is not null);
        Assert.Equal(nameof(UNetOptions.UpsampleMode), upsample.Name);
        Assert.Equal("use_deconv", upsample.PaddleSegFlag!.Key);
        var deconv = (UNetOptions)ModelOptionsBinder.Create(typeof(UNetOptions), 2,
            new Dictionary<string, string> { [upsample.Name] = upsample.PaddleSegFlag.WhenTrue });
        var bilinear = (UNetOptions)ModelOptionsBinder.Create(typeof(UNetOptions), 2,
            new Dictionary<string, string> { [upsample.Name] = upsample.PaddleSegFlag.WhenFalse });
        Assert.Equal(UNetUpsampleMode.TransposedConv, deconv.UpsampleMode);
        Assert.Equal(UNetUpsampleMode.Bilinear, bilinear.UpsampleMode);
        Assert.Same(ModelRegistry.Get("hrnet", RegistryKind.Model), ModelRegistry.Get("FCN", RegistryKind.Model));
    }
}
