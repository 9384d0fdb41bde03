namespace Serverless.Core.Tests.Models;

/// <summary>Test classes in this collection share one written and loaded demo model.</summary>
[CollectionDefinition(Name)]
public sealed class DemoModelCollection : ICollectionFixture<DemoModelFixture>
{
    public const string Name = "Demo model";
}
