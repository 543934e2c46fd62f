using SharpSeg.Detection.Models;

namespace SharpSeg.Detection.Tests.Api;

/// <summary><see cref="DetectionModelRegistry"/>: names, construction settings reaching the model, and errors listing valid names.</summary>
public class DetectionModelRegistryTests
{
    [Fact]
    public void CreatesFasterRcnnWithTheNamedResNetAndSettings()
    {
        var model = DetectionModelRegistry.Create("faster_rcnn", 4, "resnet18_fpn", DetectionModelOptions.SmallImages);
        var faster = Assert.IsType<FasterRcnn>(model);
        Assert.Equal(4, faster.NumClasses);
        var backbone = Assert.IsType<BackboneWithFpn>(faster.Backbone);
        Assert.Equal(128, backbone.OutChannels);
        // ResNet-18's layer4 has 512 channels feeding FPN's last inner block.
        Assert.Equal([128, 512, 1, 1], faster.StateDict()["backbone.fpn.inner_blocks.3.0.weight"].Shape.ToArray());
        Assert.Equal([256, 128 * 7 * 7], faster.StateDict()["roi_heads.box_head.fc6.weight"].Shape.ToArray());
        Assert.Equal([16f], faster.Rpn.AnchorGenerator.Sizes[0]);
        Assert.Equal(128, faster.Options.MinSize);
        Assert.Equal(5, backbone.TrainableLayers);
        Assert.Contains("faster_rcnn", DetectionModelRegistry.Names);
        Assert.Contains("resnet50_fpn", DetectionModelRegistry.BackboneNames);
        Assert.False(DetectionModelRegistry.PredictsMasks("faster_rcnn"));
        Assert.True(DetectionModelRegistry.PredictsMasks("mask_rcnn"));
    }

    [Fact]
    public void RcnnModelsTakeEveryBackboneWithItsBuildersSettingsUnlessTheOptionsNameTheirOwn()
    {
        Assert.Equal(DetectionBackbones.Names, DetectionModelRegistry.BackboneNames);
        var mobile = Assert.IsType<FasterRcnn>(DetectionModelRegistry.Create("faster_rcnn", 3, "mobilenet_v3_large_320_fpn"));
        Assert.IsType<MobileNetV3FpnBackbone>(mobile.Backbone);
        Assert.Equal((320, 640), (mobile.Options.MinSize, mobile.Options.MaxSize));
        Assert.Equal((150, 0.05f), (mobile.Rpn.Options.PreNmsTopN, mobile.Rpn.Options.ScoreThresh));
        Assert.Equal(3, mobile.Rpn.AnchorGenerator.Sizes.Count);

        var vgg = Assert.IsType<MaskRcnn>(DetectionModelRegistry.Create("mask_rcnn", 3, "vgg11", new DetectionModelOptions(MinSize: 96, MaxSize: 128)));
        Assert.IsType<VggBackbone>(vgg.Backbone);
        Assert.Equal((96, 128), (vgg.Options.MinSize, vgg.Options.MaxSize));
        Assert.Single(vgg.Rpn.AnchorGenerator.Sizes);

        var levels = Assert.Throws<ArgumentException>(() => DetectionModelRegistry.Create("faster_rcnn", 3, "vgg11", DetectionModelOptions.SmallImages));
        Assert.Contains("'vgg11' has 1 pyramid levels, but 5 anchor sizes", levels.Message);
    }

    [Fact]
    public void EfficientDetPresetsComeWithTheirOwnBackbone()
    {
        var model = DetectionModelRegistry.Create("efficientdet_lite0", 4);
        var effdet = Assert.IsType<EfficientDet>(model);
        Assert.Equal(4, effdet.NumClasses);
        Assert.Equal(3, effdet.Config.NumForegroundClasses);
        Assert.Equal("tf_efficientnet_lite0", DetectionModelRegistry.DefaultBackboneFor("efficientdet_lite0"));
        Assert.Equal(["efficientnet_b0"], DetectionModelRegistry.BackboneNamesFor("efficientdet_d0"));
        Assert.Equal(DetectionModelRegistry.DefaultBackbone, DetectionModelRegistry.DefaultBackboneFor("mask_rcnn"));
        foreach (var preset in new[] { "efficientdet_d0", "efficientdet_d7", "efficientdet_d7x", "efficientdet_lite0" })
            Assert.Contains(preset, DetectionModelRegistry.Names);
        var wrong = Assert.Throws<ArgumentException>(() => DetectionModelRegistry.Create("efficientdet_d0", 4, "resnet50_fpn"));
        Assert.Contains("own backbone 'efficientnet_b0'", wrong.Message);
    }

    [Fact]
    public void UnknownNamesAndTooFewClassesAreRefusedListingTheValidNames()
    {
        var model = Assert.Throws<ArgumentException>(() => DetectionModelRegistry.Create("yolo", 3));
        Assert.Contains("'yolo'", model.Message);
        Assert.Contains("faster_rcnn", model.Message);
        var backbone = Assert.Throws<ArgumentException>(() => DetectionModelRegistry.Create("faster_rcnn", 3, "resnet7_fpn"));
        Assert.Contains("'resnet7_fpn'", backbone.Message);
        Assert.Contains("resnet18_fpn", backbone.Message);
        Assert.Contains("wide_resnet101_2_fpn", backbone.Message);
        Assert.Contains("at least 2 classes", Assert.Throws<ArgumentException>(() => DetectionModelRegistry.Create("faster_rcnn", 1, "resnet18_fpn")).Message);
    }
}
