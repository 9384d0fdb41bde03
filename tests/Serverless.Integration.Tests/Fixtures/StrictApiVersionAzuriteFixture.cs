namespace Serverless.Integration.Tests.Fixtures;

/// <summary>
/// Azurite without --skipApiVersionCheck: proves a client works against Azurite as a developer would
/// run it by default, which only holds while the client pins a service version Azurite knows.
/// </summary>
public sealed class StrictApiVersionAzuriteFixture : AzuriteFixture
{
    protected override bool SkipApiVersionCheck => false;
}
