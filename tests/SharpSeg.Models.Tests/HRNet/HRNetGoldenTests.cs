using SharpSeg.Models.Tests.Segmentation;
using SharpSeg.Models.Tests.Support;

namespace SharpSeg.Models.Tests.HRNetFamily;

/// <summary>
/// HRNet and the <c>hrnet</c> model against tools/gen_models_golden_hrnet.py: a literal PyTorch translation of PaddleSeg
/// 2.x's hrnet.py and fcn.py (Paddle's <c>padding='same'</c> written out as explicit padding), run in float64 with every
/// state-dict tensor given by <see cref="FormulaWeights"/>.
/// </summary>
public class HRNetGoldenTests
{
    /// <summary>
    /// The golden script's tiny configuration: two modules in stages 2 and 3, a transition that changes an existing branch's
    /// width (stage 3's second branch 32 → 16), one or two blocks per branch, every width ≥ 16 for squeeze-excitation.
    /// </summary>
    internal static readonly HRNetArchitecture Tiny = new(1, 16,
        new HRNetStage(2, [1, 2], [16, 32]), new HRNetStage(2, [1, 1, 1], [16, 16, 32]), new HRNetStage(1, [1, 1, 1, 2], [16, 16, 32, 32]));

    public static TheoryData<string> ModelCases() => ["hrnet_w18_small_v1_fcn", "hrnet_tiny_se_fcn", "hrnet_tiny_aligned_fcn"];

    private static HRNetFcn ModelCase(string name) => name switch
    {
        "hrnet_w18_small_v1_fcn" => Assert.IsType<HRNetFcn>(ModelRegistry.CreateModel("hrnet", new HRNetOptions(3, Width: "18_small_v1"))),
        "hrnet_tiny_se_fcn" => new HRNetFcn(new HRNetOptions(3, HasSe: true, Width: "tiny"), new HRNet(Tiny, hasSe: true)),
        "hrnet_tiny_aligned_fcn" => new HRNetFcn(new HRNetOptions(2, InChannels: 4, AlignCorners: true, Width: "tiny"),
            new HRNet(Tiny, new BackboneOptions(InChannels: 4), alignCorners: true)),
        _ => throw new ArgumentException(name),
    };

    [Fact]
    public void W18SmallV1BranchesMatchPaddleSegsArchitecture()
    {
        // 37×45 → 19×23 → 10×12 → 5×6 → 3×3 → 2×2: odd sizes pad 3×3/2 convolutions symmetrically, even ones only below/right.
        var backbone = new HRNet(HRNetArchitecture.W18SmallV1, initializeWeights: false);
        FormulaWeights.Fill(backbone);
        backbone.Eval();
        using var _ = GradMode.NoGrad();
        var branches = backbone.ForwardFeatures(FormulaWeights.Input(1, 3, 37, 45));
        Assert.Equal(4, branches.Count);
        for (int b = 0; b < 4; b++)
            GoldenAssert.CloseToScale(GoldenFiles.ReadNpy($"HRNet/hrnet_w18_small_v1_branch{b + 1}.npy"), branches[b], 1e-4, $"branch {b + 1}");
    }

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void StateDictKeysAndShapesEqualTheTorchTwins(string name) =>
        Assert.Equal(SegmentationAssert.GoldenKeys(name, "HRNet"), SegmentationAssert.KeyLines(ModelCase(name)));

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void EvalLogitsMatchTheTorchTwinWithTheSameWeights(string name) => SegmentationAssert.MatchesGolden(ModelCase(name), name, "HRNet");
}
