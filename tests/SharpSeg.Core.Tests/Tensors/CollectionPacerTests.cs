namespace SharpSeg.Core.Tests.Tensors;

/// <summary>Storage.Allocate paces full collections by the tensor bytes allocated since the last one (issue 11).</summary>
public class CollectionPacerTests
{
    [Fact]
    public void Tensor_allocations_past_the_budget_ask_for_a_full_collection()
    {
        int before = CollectionPacer.InducedCollections;
        const int chunk = 16 << 20;
        long budget = CollectionPacer.MinimumBudget;
        for (long allocated = 0; allocated <= budget * 8 && CollectionPacer.InducedCollections == before; allocated += chunk * 4L)
            GC.KeepAlive(Storage.AllocateUninitialized(DType.Float32, chunk));
        Assert.True(CollectionPacer.InducedCollections > before, "no full collection after eight budgets of tensor allocations");
    }
}
