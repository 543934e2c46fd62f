using SharpSeg.Models;
using SharpSeg.Nn.Losses;
using SharpSeg.Training.Config;

namespace SharpSeg.Training.Tests.Config;

/// <summary>
/// <see cref="TrainingConfig"/>: PaddleSeg's keys mapped onto SharpSeg's model registry, datasets, optimizer, schedule and
/// losses, and every way a config can be wrong named by file, line and key path.
/// </summary>
public sealed class TrainingConfigTests : IDisposable
{
    private const string Valid = """
        batch_size: 2
        iters: 10
        train_dataset:
          type: Dataset
          dataset_root: data
          train_path: data/train.txt
          num_classes: 4
          mode: train
          transforms:
            - type: RandomHorizontalFlip
            - type: Normalize
        val_dataset:
          type: Dataset
          dataset_root: data
          val_path: data/val.txt
          num_classes: 4
          mode: val
          transforms:
            - type: Normalize
        optimizer:
          type: sgd
          momentum: 0.8
          weight_decay: 4.0e-5
        lr_scheduler:
          type: PolynomialDecay
          learning_rate: 0.02
          power: 0.8
          end_lr: 1.0e-4
          warmup_iters: 3
          warmup_start_lr: 0.001
        loss:
          types:
            - type: CrossEntropyLoss
          coef: [1]
        model:
          type: DeepLabV3P
          backbone:
            type: MobileNetV2_x0.25
            output_stride: 16
          aspp_out_channels: 64
        """;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "sharpseg-trainconfig-" + Guid.NewGuid().ToString("N"));
    private readonly string _file;

    public TrainingConfigTests()
    {
        Directory.CreateDirectory(_root);
        _file = Path.Combine(_root, "valid.yml");
        File.WriteAllText(_file, Valid);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void EveryKeyReachesItsSetting()
    {
        var config = TrainingConfig.Load(_file);

        Assert.Equal("deeplabv3p", config.Model);
        var options = Assert.IsType<DeepLabV3PlusOptions>(config.ModelOptions);
        Assert.Equal((4, "mobilenetv2_x0.25", 16, 64), (options.NumClasses, options.Backbone, options.OutputStride, options.AsppOutChannels));
        Assert.Equal((2, 10, (int?)null), (config.BatchSize, config.Iters, config.Epochs));
        Assert.Equal((0.02, 0.8, 1e-4, 3, 0.001), (config.LearningRate, config.DecayPower, config.EndLearningRate, config.WarmupSteps, config.WarmupStartLearningRate));
        Assert.Equal((0.8, 4e-5), (config.Momentum, config.WeightDecay));
        Assert.Equal(("Dataset", "data", "data/train.txt", "train"), (config.TrainDataset.Type, config.TrainDataset.DatasetRoot, config.TrainDataset.FileList, config.TrainDataset.Mode));
        Assert.Equal(["RandomHorizontalFlip", "Normalize"], config.TrainDataset.Transforms.Transforms.Select(t => t.GetType().Name));
        Assert.Equal("data/val.txt", config.ValDataset!.FileList);
        var (loss, coef) = Assert.Single(config.Losses!.Entries);
        Assert.Equal((CrossEntropyNormalization.PixelCount, 1f), (Assert.IsType<CrossEntropyLoss>(loss).Normalization, coef));

        var applied = config.ApplyTo(new TrainingOptions(Seed: 7));
        Assert.Equal((7, 0.8, 4e-5, 3, 0.001, 1e-4), (applied.Seed, applied.Momentum, applied.WeightDecay, applied.WarmupSteps,
            applied.WarmupStartLearningRate, applied.EndLearningRate));
    }

    [Theory]
    [InlineData(10, 2, 10, 2)]  // 5 steps per epoch: 10 iters are exactly 2 epochs
    [InlineData(11, 2, 10, 3)]  // one step more needs a third epoch
    [InlineData(10, 3, 7, 5)]   // 7 images at batch 3 drop the last image: 2 steps per epoch
    public void ItersBecomeWholeEpochsRoundingUp(int iters, int batchSize, int images, int epochs)
    {
        var config = TrainingConfig.Load(_file, [("iters", $"{iters}"), ("batch_size", $"{batchSize}")]);

        Assert.Equal(epochs, config.EpochsFor(images));
        Assert.Contains($"so {epochs} epochs", config.DescribeItersMapping(images));
    }

    [Fact]
    public void OverridesReplaceCreateAndRemoveKeysAndOptionalOnesNeedTheirParent()
    {
        var config = TrainingConfig.Load(_file,
        [
            ("lr_scheduler.learning_rate", "0.5"), ("iters", null), ("epochs", "4"), ("model.backbone.type", "'MobileNetV2_x0.5'"),
            ("?test_dataset.dataset_root", "'/nowhere'"), ("?val_dataset.dataset_root", "'/data2'"),
        ]);

        Assert.Equal((0.5, 4, (int?)null), (config.LearningRate, config.Epochs, config.Iters));
        Assert.Equal("mobilenetv2_x0.5", ((DeepLabV3PlusOptions)config.ModelOptions).Backbone);
        Assert.Equal("/data2", config.ValDataset!.DatasetRoot);
        Assert.DoesNotContain("test_dataset", config.ResolvedYaml);
        Assert.Contains("learning_rate: 0.5", config.ResolvedYaml);
    }

    [Theory]
    [InlineData("model.backbone.output_stride", "sixteen", "model.backbone.output_stride", "must be an integer")]
    [InlineData("model.backbone.type", "ResNet19_vd", "model.backbone.type", "resnet50_vd")]
    [InlineData("model.type", "PSPNet", "model.type", "unknown model type 'PSPNet'; supported: ")]
    [InlineData("model.aspp_dropout_rate", "0.2", "model.aspp_dropout_rate", "aspp_out_channels")]
    [InlineData("model.backbone_indices", "[1, 3]", "model.backbone_indices", "[0, 3]")]
    [InlineData("model.aspp_ratios", "[1, 12, 24, 36]", "model.aspp_ratios", "Allowed: [1, 6, 12, 18]")]
    [InlineData("model.backbone.multi_grid", "[1, 2, 4]", "model.backbone.multi_grid", "no multi-grid")]
    [InlineData("model.pretrained", "https://example.com/w.pdparams", "model.pretrained", "never downloads")]
    [InlineData("model.num_classes", "5", "train_dataset.num_classes", "model.num_classes gives 5")]
    [InlineData("train_dataset.type", "MyData", "train_dataset.type", "Dataset, OpticDiscSeg, Cityscapes, PascalVOC, ADE20K")]
    [InlineData("train_dataset.mode", "val", "train_dataset.mode", "'train'")]
    [InlineData("train_dataset.train_path", "null", "train_dataset.train_path", "is required")]
    [InlineData("train_dataset.transforms", "[{type: Normalize}, {type: Resize, target_size: [8, 8], colour: 1}]", "train_dataset.transforms[1].colour", "Resize: ")]
    [InlineData("train_dataset.transforms", "[{type: Resize, target_size: [8, -8]}]", "train_dataset.transforms[0].target_size", "Resize: ")]
    [InlineData("train_dataset.shuffle", "true", "train_dataset.shuffle", "accepts type, dataset_root, train_path")]
    [InlineData("optimizer.type", "adam", "optimizer.type", "only sgd")]
    [InlineData("optimizer.nesterov", "true", "optimizer.nesterov", "accepts type, momentum, weight_decay")]
    [InlineData("lr_scheduler.type", "CosineAnnealingDecay", "lr_scheduler.type", "only PolynomialDecay")]
    [InlineData("lr_scheduler.learning_rate", "0", "lr_scheduler.learning_rate", "must be above 0")]
    [InlineData("loss.coef", "[1, 0.4]", "", "")]
    [InlineData("loss.types", "[{type: CrossEntropyLoss}, {type: DiceLoss}, {type: BCELoss}]", "loss.types", "one per coef entry")]
    [InlineData("loss.types", "[{type: FancyLoss}]", "loss.types[0].type", "supported: CrossEntropyLoss")]
    [InlineData("loss.types", "[{type: DiceLoss}]", "loss.types[0].type", "two-class data only")]
    [InlineData("loss.types", "[{type: CrossEntropyLoss, weight: [1, 2]}]", "loss.types[0].weight", "4 classes")]
    [InlineData("loss.types", "[{type: CrossEntropyLoss, ignore_index: 0}]", "loss.types[0].ignore_index", "255")]
    [InlineData("loss.types", "[{type: CrossEntropyLoss, top_k_percent_pixels: 0.3}]", "loss.types[0].top_k_percent_pixels", "OhemCrossEntropyLoss")]
    [InlineData("epochs", "3", "epochs", "not both")]
    [InlineData("learning_rate", "0.1", "learning_rate", "the top level accepts batch_size, iters, epochs")]
    public void EveryMistakeNamesTheFileTheKeyPathAndWhatIsAllowed(string keyPath, string value, string expectedPath, string expected)
    {
        if (keyPath == "loss.coef")
        {
            // Two coefficients for a one-output model resolve (PaddleSeg checks the count against the outputs at training time).
            Assert.Equal(2, TrainingConfig.Load(_file, [(keyPath, value)]).Losses!.Entries.Count);
            return;
        }

        var error = Assert.Throws<ConfigException>(() => TrainingConfig.Load(_file, [(keyPath, value)]));

        Assert.Equal(expectedPath, error.KeyPath);
        Assert.Contains(expected, error.Message);
        Assert.Contains(expectedPath + ":", error.Message);
        Assert.True(error.File == _file || error.File == "command line", error.File);
    }

    [Fact]
    public void AnErrorInABaseFileNamesThatFileAndLine()
    {
        string basePath = Path.Combine(_root, "base.yml"), child = Path.Combine(_root, "child.yml");
        File.WriteAllText(basePath, Valid.Replace("momentum: 0.8", "momentum: fast"));
        File.WriteAllText(child, "_base_: base.yml\nbatch_size: 4\n");

        var error = Assert.Throws<ConfigException>(() => TrainingConfig.Load(child));

        int line = Valid.Split('\n').ToList().FindIndex(l => l.Contains("momentum")) + 1;
        Assert.Equal((basePath, line, "optimizer.momentum"), (error.File, error.Line, error.KeyPath));
        Assert.StartsWith($"{basePath}:{line}: optimizer.momentum: must be a number, got fast", error.Message);
    }

    [Fact]
    public void AWrongValueWrittenInAFileNamesItsLine()
    {
        File.WriteAllText(_file, Valid.Replace("momentum: 0.8", "momentum: fast"));

        var error = Assert.Throws<ConfigException>(() => TrainingConfig.Load(_file));

        int line = Valid.Split('\n').ToList().FindIndex(l => l.Contains("momentum")) + 1;
        Assert.StartsWith($"{_file}:{line}: optimizer.momentum: must be a number, got fast", error.Message);
    }

    [Fact]
    public void LossesMapToSharpSegLossesWithTheirOptionsAndCoefficients()
    {
        var config = TrainingConfig.Load(_file,
        [
            ("loss.types", "[{type: MixedLoss, losses: [{type: CrossEntropyLoss, weight: dynamic}, {type: LovaszSoftmaxLoss}], coef: [0.8, 0.2]}, " +
                           "{type: OhemCrossEntropyLoss, thresh: 0.9, min_kept: 100}]"),
            ("loss.coef", "[1, 0.4]"),
        ]);

        var entries = config.Losses!.Entries;
        var mixed = Assert.IsType<MixedLoss>(entries[0].Loss);
        Assert.Equal([0.8f, 0.2f], mixed.Coefs);
        Assert.True(Assert.IsType<CrossEntropyLoss>(mixed.Losses[0]).ClassWeight.IsDynamic);
        Assert.IsType<LovaszSoftmaxLoss>(mixed.Losses[1]);
        Assert.IsType<OhemCrossEntropyLoss>(entries[1].Loss);
        Assert.Equal([1f, 0.4f], entries.Select(e => e.Coef));
    }

    [Fact]
    public void PaddleSegModelNamesMapThroughTheRegistry()
    {
        var fcn = TrainingConfig.Load(_file, [("model", "{type: FCN, backbone: {type: HRNet_W18_Small_V2, has_se: true}, backbone_indices: [-1]}")]);
        var unet = TrainingConfig.Load(_file, [("model", "{type: UNet, use_deconv: true, in_channels: 3}")]);
        var fast = TrainingConfig.Load(_file, [("model", "{type: FastSCNN, enable_auxiliary_loss: true}"), ("loss.coef", "[1.0, 0.4]")]);
        var noAux = TrainingConfig.Load(_file, [("model", "{type: FastSCNN, enable_auxiliary_loss: false}")]);

        Assert.Equal("hrnet", fcn.Model);
        Assert.Equal(("18_small_v2", true), (((HRNetOptions)fcn.ModelOptions).Width, ((HRNetOptions)fcn.ModelOptions).HasSe));
        Assert.Equal(UNetUpsampleMode.TransposedConv, ((UNetOptions)unet.ModelOptions).UpsampleMode);
        Assert.Equal([1.0, 0.4], ((FastScnnOptions)fast.ModelOptions).MultiLossWeight!);
        Assert.Equal([1.0], ((FastScnnOptions)noAux.ModelOptions).MultiLossWeight!);
        var mismatch = Assert.Throws<ConfigException>(() => TrainingConfig.Load(_file, [("model", "{type: FastSCNN}")]));
        Assert.Equal("model.enable_auxiliary_loss", mismatch.KeyPath);
        var fcnOther = Assert.Throws<ConfigException>(() => TrainingConfig.Load(_file, [("model", "{type: FCN, backbone: {type: ResNet50_vd}}")]));
        Assert.Equal("model.backbone.type", fcnOther.KeyPath);
        Assert.Contains("hrnet_w18", fcnOther.Message);
    }

    [Fact]
    public void FromConfigBuildsTheModelAndTrainRunsTheWholePlan()
    {
        string data = Path.Combine(_root, "data");
        Data.Synthetic.SyntheticDataset.WriteFileList(data, new Data.Synthetic.SyntheticOptions(Height: 16, Width: 16, NumClasses: 4, Seed: 1), 4, 2);
        var overrides = new (string, string?)[]
        {
            ("train_dataset.dataset_root", $"'{data}'"), ("train_dataset.train_path", $"'{Path.Combine(data, "train.txt")}'"),
            ("val_dataset.dataset_root", $"'{data}'"), ("val_dataset.val_path", $"'{Path.Combine(data, "val.txt")}'"),
            ("model", "{type: FCN, backbone: {type: HRNet_W18_Small_V1}}"), ("iters", "3"),
        };

        var segmenter = Training.Segmenter.FromConfig(_file);
        var (trained, result) = TrainingConfig.Load(_file, overrides).Train(Path.Combine(_root, "out"), options: new TrainingOptions(Seed: 2));

        Assert.Equal(("deeplabv3p", 4), (segmenter.ModelName, segmenter.NumClasses));
        Assert.Equal(("hrnet", 2, 4L), (trained.ModelName, result.EpochsCompleted, result.GlobalStep));
        Assert.Single(result.Evaluations, e => e.Epoch == 2);
        Assert.True(Directory.Exists(result.BestModelFolder));
    }

    [Fact]
    public void IgnoredPaddleSegKeysAreAcceptedWithANote()
    {
        var config = TrainingConfig.Load(_file, [("export", "{transforms: [{type: Normalize}]}"), ("test_config", "{aug_eval: true}")]);

        Assert.Equal(2, config.Notes.Count(n => n.Contains("ignored")));
    }
}
