using System.Text.Json;
using SharpSeg.Data.Synthetic;
using SharpSeg.Training;

namespace SharpSeg.Cli.Tests;

/// <summary><c>train --config</c>: a PaddleSeg-style YAML file trains like the equivalent command line, which overrides it.</summary>
public sealed class ConfigTrainTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _data, _config;

    public ConfigTrainTests()
    {
        _data = _folder["data"];
        SyntheticDataset.WriteFileList(_data, new SyntheticOptions(Height: 16, Width: 16, NumClasses: 4, Seed: 3), trainCount: 4, valCount: 2);
        // A PaddleSeg file list has no class names; without labels.txt the command line opens the same kind of dataset.
        File.Delete(Path.Combine(_data, "labels.txt"));
        _config = _folder["fcn.yml"];
        File.WriteAllText(_folder["base.yml"], $"""
            batch_size: 2
            iters: 3
            train_dataset:
              type: Dataset
              dataset_root: '{_data}'
              train_path: '{Path.Combine(_data, "train.txt")}'
              num_classes: 4
              mode: train
              transforms:
                - type: RandomHorizontalFlip
                - type: Normalize
            val_dataset:
              type: Dataset
              dataset_root: '{_data}'
              val_path: '{Path.Combine(_data, "val.txt")}'
              num_classes: 4
              mode: val
              transforms:
                - type: Normalize
            optimizer:
              type: sgd
              momentum: 0.9
              weight_decay: 4.0e-5
            lr_scheduler:
              type: PolynomialDecay
              learning_rate: 0.01
              power: 0.9
              end_lr: 0
            loss:
              types:
                - type: CrossEntropyLoss
              coef: [1]
            export:
              transforms:
                - type: Normalize
            """);
        File.WriteAllText(_config, """
            _base_: base.yml
            model:
              type: FCN
              backbone:
                type: HRNet_W18_Small_V1
                align_corners: False
              backbone_indices: [-1]
              num_classes: 4
            """);
    }

    public void Dispose() => _folder.Dispose();

    private static string Plan(string output) => output[output.IndexOf("Resolved training arguments:", StringComparison.Ordinal)..];

    [Fact]
    public void TrainsEndToEndFromTheConfigWithItersMappedToEpochs()
    {
        var result = CliRunner.Run("train", "--config", _config, "--save-dir", _folder["out"]);

        Assert.True(result.ExitCode == 0, result.Error + result.Output);
        Assert.Contains("Note: export: ignored", result.Output);
        Assert.Contains("iters 3: 4 images at batch_size 2 make 2 steps per epoch, so 2 epochs = 4 steps", result.Output);
        Assert.Contains("Training hrnet (width 18_small_v1)", result.Output);
        using (var state = JsonDocument.Parse(File.ReadAllText(_folder["out/best_model/state.json"])))
            Assert.Equal("hrnet", state.RootElement.GetProperty("model_name").GetString());
        var steps = File.ReadLines(_folder["out/metrics.jsonl"]).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("event", out var kind) && kind.GetString() == "train").ToList();
        Assert.Equal(4, steps.Max(e => e.GetProperty("step").GetInt64()));
        var saved = Segmenter.Load(_folder["out/best_model"]);
        Assert.Equal("[{\"Normalize\":", Data.Transforms.TransformConfig.ToJson(saved.Transforms)[..14]);

        var resumed = CliRunner.Run("train", "--config", _config, "--epochs", "3", "--resume", _folder["out/epoch_2"]);
        var otherModel = CliRunner.Run("train", "--config", _config, "--epochs", "4", "--opts", "model.backbone.type=HRNet_W18_Small_V2",
            "--resume", _folder["out/epoch_3"]);

        Assert.True(resumed.ExitCode == 0, resumed.Error + resumed.Output);
        Assert.True(Directory.Exists(_folder["out/epoch_3"]));
        Assert.Equal(2, otherModel.ExitCode);
        Assert.Contains("not the config's hrnet (width 18_small_v2)", otherModel.Error);
    }

    [Fact]
    public void TheConfigAndTheEquivalentCommandLineResolveTheSameTrainingArguments()
    {
        var fromConfig = CliRunner.Run("train", "--config", _config, "--dry-run");
        var fromOptions = CliRunner.Run("train", "--format", "filelist", "--data", _data, "--num-classes", "4", "--model", "hrnet",
            "--width", "18_small_v1", "--batch-size", "2", "--epochs", "2", "--lr", "0.01", "--lr-decay-power", "0.9", "--weight-decay", "4e-5",
            "--dry-run");

        Assert.True(fromConfig.ExitCode == 0, fromConfig.Error);
        Assert.True(fromOptions.ExitCode == 0, fromOptions.Error);
        Assert.Equal(Plan(fromOptions.Output), Plan(fromConfig.Output));
        Assert.Contains("  epochs: 2\n", Plan(fromConfig.Output).ReplaceLineEndings("\n"));
        Assert.Contains("1 × CrossEntropyLoss(", Plan(fromConfig.Output));
        Assert.False(Directory.Exists(_folder["output"]));
    }

    [Fact]
    public void CommandLineOptionsOverrideOnlyWhatTheyGive()
    {
        File.WriteAllText(_config, File.ReadAllText(_config) + "\noptimizer:\n  weight_decay: 0.001\n");

        var result = CliRunner.Run("train", "--config", _config, "--batch-size", "4", "--lr", "0.05", "--opts", "model.backbone.has_se=true",
            "--opts", "lr_scheduler.end_lr=1.0e-4", "--dry-run");

        Assert.True(result.ExitCode == 0, result.Error);
        string output = result.Output.ReplaceLineEndings("\n");
        Assert.Contains("\nbatch_size: 4\n", output);
        Assert.Contains("  learning_rate: 0.05\n", output);
        Assert.Contains("    has_se: true\n", output);
        Assert.Contains("  batch_size: 4\n", Plan(output));
        Assert.Contains("weight_decay 0.001", Plan(output));
        Assert.Contains("learning_rate 0.05, power 0.9, end_lr 0.0001", Plan(output));
        Assert.Contains("\"has_se\":true", Plan(output));
        Assert.Contains("  epochs: 3\n", Plan(output));   // 4 images at batch 4 make one step per epoch, so iters 3 need 3 epochs
    }

    [Fact]
    public void OptionsTheConfigDecidesAreRefusedAndConfigErrorsAreUsageErrorsNamingFileAndKey()
    {
        var format = CliRunner.Run("train", "--config", _config, "--format", "synthetic");
        File.WriteAllText(_config, File.ReadAllText(_config).Replace("num_classes: 4", "num_classes: four"));
        var typo = CliRunner.Run("train", "--config", _config);
        var missing = CliRunner.Run("train", "--config", _folder["nope.yml"]);

        Assert.Equal(2, format.ExitCode);
        Assert.Contains("--format cannot be combined with --config", format.Error);
        Assert.Equal(2, typo.ExitCode);
        Assert.Contains($"{_config}:8: model.num_classes: must be an integer, got four", typo.Error);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nope.yml' does not exist", missing.Error);
    }
}
