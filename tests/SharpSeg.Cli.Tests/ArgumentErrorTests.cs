namespace SharpSeg.Cli.Tests;

/// <summary>Bad command lines exit with code 2 and a one-line message naming the problem, never a stack trace.</summary>
public sealed class ArgumentErrorTests
{
    [Fact]
    public void Unknown_model_is_a_usage_error_listing_the_registered_models()
    {
        var result = CliRunner.Run("train", "--model", "deeplabv9", "--format", "synthetic");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--model: unknown model 'deeplabv9'", result.Error);
        Assert.Contains("deeplabv3p", result.Error);
        Assert.Contains("unet", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public void Unknown_backbone_is_a_usage_error()
    {
        var result = CliRunner.Run("train", "--backbone", "resnet19_vd", "--format", "synthetic");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--backbone: unknown backbone 'resnet19_vd'", result.Error);
        Assert.Contains("resnet18_vd", result.Error);
    }

    [Fact]
    public void A_model_option_the_model_lacks_is_a_usage_error_listing_the_options_it_has()
    {
        var width = CliRunner.Run("train", "--model", "unet", "--backbone", "resnet18_vd", "--format", "synthetic");
        var other = CliRunner.Run("train", "--model", "unet", "--model-option", "aspp-out-channels=64", "--format", "synthetic");
        var malformed = CliRunner.Run("train", "--model-option", "aspp-out-channels", "--format", "synthetic");
        var badValue = CliRunner.Run("train", "--output-stride", "sixteen", "--format", "synthetic");

        Assert.Equal(2, width.ExitCode);
        Assert.Contains("--backbone does not apply to model 'unet'; its options are in-channels, align-corners, upsample-mode (it takes no backbone).", width.Error);
        Assert.Equal(2, other.ExitCode);
        Assert.Contains("--model-option aspp-out-channels does not apply to model 'unet'", other.Error);
        Assert.Equal(2, malformed.ExitCode);
        Assert.Contains("--model-option must be NAME=VALUE, got 'aspp-out-channels'.", malformed.Error);
        Assert.Equal(2, badValue.ExitCode);
        Assert.Contains("DeepLabV3PlusOptions.OutputStride: 'sixteen' is not a valid Int32", badValue.Error);
    }

    [Fact]
    public void A_value_the_model_refuses_is_a_usage_error_naming_the_allowed_values()
    {
        var width = CliRunner.Run("train", "--format", "synthetic", "--model", "hrnet", "--width", "17", "--epochs", "1");
        var stride = CliRunner.Run("train", "--format", "synthetic", "--backbone", "hrnet_w18_small_v1", "--output-stride", "8", "--epochs", "1");

        Assert.Equal(2, width.ExitCode);
        Assert.Contains("--model hrnet: HRNet: width must be one of 18_small_v1, 18_small_v2, 18, 30, 32, 40, 44, 48, 60, 64; got '17'.", width.Error);
        Assert.DoesNotContain("(Parameter", width.Error);
        Assert.Equal(2, stride.ExitCode);
        Assert.Contains("the output stride is fixed at 32", stride.Error);
    }

    [Fact]
    public void Missing_dataset_folder_is_a_usage_error_naming_the_option_and_path()
    {
        string missing = Path.Combine(Path.GetTempPath(), "sharpseg-no-such-dataset-" + Guid.NewGuid().ToString("N"));

        var describe = CliRunner.Run("describe", "--data", missing, "--num-classes", "3");
        var train = CliRunner.Run("train", "--data", missing, "--num-classes", "3");

        Assert.Equal(2, describe.ExitCode);
        Assert.Contains($"--data: folder '{missing}' does not exist.", describe.Error);
        Assert.Equal(2, train.ExitCode);
        Assert.Contains($"--data: folder '{missing}' does not exist.", train.Error);
    }

    [Fact]
    public void Omitted_dataset_folder_is_a_usage_error()
    {
        var result = CliRunner.Run("describe", "--format", "paddlex");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--data is required for this dataset format.", result.Error);
    }

    [Fact]
    public void Missing_list_file_is_a_usage_error_naming_the_file()
    {
        using var folder = new TempFolder();

        var result = CliRunner.Run("describe", "--data", folder.Path, "--num-classes", "2", "--train-list", "nope.txt");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"--train-list: file '{folder["nope.txt"]}' does not exist.", result.Error);
    }

    [Fact]
    public void File_list_without_class_count_asks_for_it()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder["train.txt"], "");

        var result = CliRunner.Run("describe", "--data", folder.Path);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--format filelist needs --num-classes", result.Error);
    }

    [Theory]
    [InlineData("0,64", "--tile")]
    [InlineData("64,abc", "--tile")]
    [InlineData("64,64,64", "--tile")]
    [InlineData("-5", "--tile")]
    public void Bad_tile_size_is_a_usage_error(string tile, string option)
    {
        var result = CliRunner.Run("predict", "--model-dir", "unused", "image.png", "--tile", tile);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{option} expects W,H (two integers ≥ 1, e.g. 512,512) or a single integer for a square, got '{tile}'.", result.Error);
    }

    [Fact]
    public void Negative_pad_is_a_usage_error_but_zero_pad_is_accepted_syntax()
    {
        var negative = CliRunner.Run("predict", "--model-dir", "unused", "image.png", "--tile", "32,32", "--pad", "-1,0");
        var zero = CliRunner.Run("predict", "--model-dir", "unused", "no-such-image.png", "--tile", "32,32", "--pad", "0,0");

        Assert.Equal(2, negative.ExitCode);
        Assert.Contains("--pad expects W,H (two integers ≥ 0", negative.Error);
        // The zero pad parses; the run then stops at the missing input, a different message.
        Assert.Equal(2, zero.ExitCode);
        Assert.Contains("Input 'no-such-image.png' does not exist.", zero.Error);
    }

    [Fact]
    public void Pad_without_tile_is_a_usage_error()
    {
        var result = CliRunner.Run("predict", "--model-dir", "unused", "image.png", "--pad", "8,8");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--pad needs --tile", result.Error);
    }

    [Fact]
    public void Parse_errors_exit_2_with_a_help_hint()
    {
        var unknownOption = CliRunner.Run("train", "--bogus");
        var missingRequired = CliRunner.Run("predict", "image.png");
        var badInteger = CliRunner.Run("train", "--epochs", "ten");
        var badFormat = CliRunner.Run("describe", "--format", "coco");
        var unknownCommand = CliRunner.Run("fly");

        foreach (var result in new[] { unknownOption, missingRequired, badInteger, badFormat, unknownCommand })
        {
            Assert.Equal(2, result.ExitCode);
            Assert.StartsWith("error: ", result.Error);
        }
        Assert.Contains("--bogus", unknownOption.Error);
        Assert.Contains("Run 'sharpseg train --help' for usage.", unknownOption.Error);
        Assert.Contains("--model-dir", missingRequired.Error);
        Assert.Contains("Run 'sharpseg predict --help' for usage.", missingRequired.Error);
        Assert.Contains("ten", badInteger.Error);
        Assert.Contains("coco", badFormat.Error);
        Assert.Contains("fly", unknownCommand.Error);
    }

    [Fact]
    public void Non_positive_epochs_is_a_usage_error()
    {
        var result = CliRunner.Run("train", "--format", "synthetic", "--epochs", "0");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--epochs must be at least 1, got 0.", result.Error);
    }

    [Fact]
    public void Model_folder_that_is_not_a_checkpoint_is_a_runtime_failure()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder["image.png"], [1, 2, 3]);

        var result = CliRunner.Run("predict", "--model-dir", folder.Path, folder["image.png"], "-o", folder["out"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(folder.Path, result.Error);
        Assert.Contains("state.json", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public void Help_exits_0_and_lists_the_commands()
    {
        var result = CliRunner.Run("--help");

        Assert.Equal(0, result.ExitCode);
        foreach (string command in new[] { "train", "evaluate", "predict", "describe", "export", "report", "models", "demo" })
            Assert.Contains(command, result.Output);
    }
}
