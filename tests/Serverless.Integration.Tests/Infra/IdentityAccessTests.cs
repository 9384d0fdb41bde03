using System.Text.RegularExpressions;

namespace Serverless.Integration.Tests.Infra;

/// <summary>
/// The Function App reaches storage, Key Vault and Application Insights as its user-assigned identity, which holds
/// exactly the data roles that needs; no account key is used anywhere.
/// </summary>
[Collection(BicepTemplateGroup.Name)]
public sealed partial class IdentityAccessTests(BicepTemplateFixture bicep)
{
    private const string IdentityId = "[parameters('identityId')]";
    private const string IdentityClientId = "[parameters('identityClientId')]";

    // Built-in role definition ids (the same in every Azure tenant).
    private static readonly Dictionary<string, (string RoleId, string Scope)> RequiredRoles = new(StringComparer.Ordinal)
    {
        ["Storage Blob Data Owner"] = ("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Microsoft.Storage/storageAccounts"),
        ["Storage Queue Data Contributor"] = ("974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Microsoft.Storage/storageAccounts"),
        ["Storage Table Data Contributor"] = ("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Microsoft.Storage/storageAccounts"),
        ["Key Vault Secrets User"] = ("4633458b-17de-408a-b874-0445c86b69e6", "Microsoft.KeyVault/vaults"),
        ["Monitoring Metrics Publisher"] = ("3913510d-42f4-4e42-8a64-420c390055eb", "Microsoft.Insights/components"),
    };

    private readonly FunctionAppTemplate _app = new(bicep.Template);

    [Fact]
    public void The_identity_holds_the_blob_queue_table_key_vault_and_telemetry_roles_on_the_right_resources()
    {
        var identityRoles = bicep.Template.OfType("Microsoft.Authorization/roleAssignments")
            .Where(r => r.StringAt("properties.principalId") == "[parameters('identityPrincipalId')]")
            .ToList();

        foreach (var (role, (roleId, scope)) in RequiredRoles)
        {
            var assignment = identityRoles.SingleOrDefault(r => r.StringAt("properties.roleDefinitionId")!.Contains($"'{roleId}'", StringComparison.Ordinal));
            Assert.True(assignment is not null, $"the app identity has no '{role}' role assignment");
            Assert.Equal("ServicePrincipal", assignment.StringAt("properties.principalType"));
            Assert.StartsWith($"[resourceId('{scope}'", assignment.StringAt("scope"), StringComparison.Ordinal);
            // Each module's identityPrincipalId is the principal of the identity module's identity.
            string passed = assignment.Template.Deployment!.StringAt("properties.parameters.identityPrincipalId.value")!;
            Assert.Matches(@"^\[reference\(resourceId\('Microsoft\.Resources/deployments', 'identity'\), '[^']+'\)\.outputs\.principalId\.value\]$", passed);
        }

        Assert.Equal(RequiredRoles.Count, identityRoles.Count);
        var identity = bicep.Template.Module("identity").Resources.Single();
        Assert.Equal("Microsoft.ManagedIdentity/userAssignedIdentities", identity.Type);
    }

    [Fact]
    public void Host_storage_is_reached_with_the_user_assigned_identity_not_a_connection_string()
    {
        Assert.Equal("[parameters('storageAccountName')]", _app.Settings["AzureWebJobsStorage__accountName"]);
        Assert.Equal("managedidentity", _app.Settings["AzureWebJobsStorage__credential"]);
        Assert.Equal(IdentityClientId, _app.Settings["AzureWebJobsStorage__clientId"]);
        Assert.DoesNotContain("AzureWebJobsStorage", _app.Settings.Keys);
        Assert.DoesNotContain(_app.Settings.Keys, k => k.StartsWith("AzureWebJobsStorage__", StringComparison.Ordinal) && k.EndsWith("connectionString", StringComparison.OrdinalIgnoreCase));

        AssertPassedFromIdentityModule("identityClientId", "clientId");
        Assert.Equal("[variables('names').storage]", _app.PassedFromMain("storageAccountName"));
        Assert.Equal("[variables('names').storage]", bicep.Template.Module("storage").Deployment!.StringAt("properties.parameters.name.value"));
    }

    [Fact]
    public void Models_are_read_from_blob_storage_with_the_same_identity()
    {
        Assert.Equal("[reference('storage').primaryEndpoints.blob]", _app.Settings["ModelStorage__BlobServiceUri"]);
        Assert.Equal(IdentityClientId, _app.Settings["ModelStorage__ManagedIdentityClientId"]);
        Assert.DoesNotContain("ModelStorage__BlobConnectionString", _app.Settings.Keys);

        // The container the app reads is the one the storage module creates.
        Assert.Equal(_app.PassedFromMain("modelsContainerName"), bicep.Template.Module("storage").Deployment!.StringAt("properties.parameters.modelsContainerName.value"));
    }

    [Fact]
    public void Deployment_package_storage_authenticates_with_the_user_assigned_identity()
    {
        var storage = _app.Site.At("properties.functionAppConfig.deployment.storage")!.Value;
        Assert.Equal("blobContainer", storage.GetProperty("type").GetString());
        Assert.Contains("primaryEndpoints.blob", storage.GetProperty("value").GetString(), StringComparison.Ordinal);
        Assert.Equal("UserAssignedIdentity", storage.GetProperty("authentication").GetProperty("type").GetString());
        Assert.Equal(IdentityId, storage.GetProperty("authentication").GetProperty("userAssignedIdentityResourceId").GetString());

        Assert.Equal("UserAssigned", _app.Site.StringAt("identity.type"));
        var assigned = _app.Site.At("identity.userAssignedIdentities")!.Value.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["[format('{0}', parameters('identityId'))]"], assigned);
        AssertPassedFromIdentityModule("identityId", "id");
    }

    [Fact]
    public void Key_vault_references_resolve_with_the_user_assigned_identity_under_rbac()
    {
        Assert.Equal(IdentityId, _app.Site.StringAt("properties.keyVaultReferenceIdentity"));

        var vault = bicep.Template.OfType("Microsoft.KeyVault/vaults").Single(r => !r.Existing);
        Assert.True(vault.At("properties.enableRbacAuthorization")!.Value.GetBoolean());
        Assert.Null(vault.At("properties.accessPolicies"));
    }

    [Fact]
    public void Storage_account_refuses_shared_keys_and_anonymous_reads()
    {
        var account = bicep.Template.OfType("Microsoft.Storage/storageAccounts").Single(r => !r.Existing);
        Assert.False(account.At("properties.allowSharedKeyAccess")!.Value.GetBoolean());
        Assert.False(account.At("properties.allowBlobPublicAccess")!.Value.GetBoolean());
        Assert.True(account.At("properties.defaultToOAuthAuthentication")!.Value.GetBoolean());
        Assert.Equal("TLS1_2", account.StringAt("properties.minimumTlsVersion"));

        var containers = bicep.Template.OfType("Microsoft.Storage/storageAccounts/blobServices/containers").ToList();
        Assert.Equal(3, containers.Count);
        Assert.All(containers, c => Assert.Equal("None", c.StringAt("properties.publicAccess")));
    }

    [Fact]
    public void Function_app_runs_dotnet_10_isolated_on_flex_consumption_with_memory_and_always_ready_as_parameters()
    {
        var plan = bicep.Template.OfType("Microsoft.Web/serverfarms").Single();
        Assert.Equal("FlexConsumption", plan.StringAt("sku.tier"));
        Assert.Equal("FC1", plan.StringAt("sku.name"));
        Assert.True(plan.At("properties.reserved")!.Value.GetBoolean()); // Linux

        Assert.Equal("functionapp,linux", _app.Site.StringAt("kind"));
        Assert.True(_app.Site.At("properties.httpsOnly")!.Value.GetBoolean());
        Assert.Equal("dotnet-isolated", _app.Site.StringAt("properties.functionAppConfig.runtime.name"));
        Assert.Equal("10.0", bicep.Template.Root.GetProperty("parameters").GetProperty("dotnetVersion").GetProperty("defaultValue").GetString());

        Assert.Equal("[parameters('instanceMemoryMB')]", _app.Site.StringAt("properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB"));
        Assert.Contains("parameters('alwaysReadyInstances')", _app.Site.StringAt("properties.functionAppConfig.scaleAndConcurrency.alwaysReady"), StringComparison.Ordinal);
        Assert.Equal("[parameters('instanceMemoryMB')]", _app.PassedFromMain("instanceMemoryMB"));
        Assert.Equal("[parameters('alwaysReadyInstances')]", _app.PassedFromMain("alwaysReadyInstances"));

        var allowedMemory = bicep.Template.Root.GetProperty("parameters").GetProperty("instanceMemoryMB").GetProperty("allowedValues")
            .EnumerateArray().Select(v => v.GetInt32());
        Assert.Equal([512, 2048, 4096], allowedMemory);

        // Publishing passwords are off: deployments authenticate with Entra ID.
        var policies = bicep.Template.OfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies").ToList();
        Assert.Equal(2, policies.Count);
        Assert.All(policies, p => Assert.False(p.At("properties.allow")!.Value.GetBoolean()));
    }

    private void AssertPassedFromIdentityModule(string parameter, string output)
    {
        Assert.Matches(IdentityOutput(output), _app.PassedFromMain(parameter));
    }

    private static Regex IdentityOutput(string output) =>
        new($@"^\[reference\(resourceId\('Microsoft\.Resources/deployments', 'identity'\), '[^']+'\)\.outputs\.{Regex.Escape(output)}\.value\]$");
}
