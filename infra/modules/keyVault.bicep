// The vault holding every secret the app reads. Access is by Azure RBAC only; the app's identity is a
// Key Vault Secrets User and the platform resolves @Microsoft.KeyVault(...) app settings with it.
// A secret is written only when its value is passed, so later deployments can leave secrets out and keep the
// stored ones (rotating the key-hashing secret would make every issued API key unknown).

import { keyVaultSecretNames } from 'keyVaultSecretNames.bicep'

@description('Key Vault name (3-24 letters, digits and hyphens, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Principal id of the Function App identity.')
param identityPrincipalId string

@description('Optional principal (user or group) that may read and set secrets, e.g. to fetch the admin key; empty for none.')
param operatorPrincipalId string

@description('Type of operatorPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string

@description('Purge protection cannot be turned off again; leave it off for throw-away environments.')
param enablePurgeProtection bool

@description('HMAC key API keys are stored under (Keys:HashSecret); empty keeps the stored secret.')
@secure()
param keysHashSecret string

@description('Bearer token of the admin API (Admin:Key); empty keeps the stored secret.')
@secure()
param adminKey string

@description('Stripe secret API key (Stripe:ApiKey), used by the billing feature; empty keeps the stored secret.')
@secure()
param stripeApiKey string

@description('Stripe webhook signing secret (Stripe:WebhookSecret), used by the billing feature; empty keeps the stored secret.')
@secure()
param stripeWebhookSecret string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource keysHashSecretValue 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(keysHashSecret)) {
  parent: vault
  name: keyVaultSecretNames.keysHashSecret
  properties: {
    value: keysHashSecret
  }
}

resource adminKeyValue 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(adminKey)) {
  parent: vault
  name: keyVaultSecretNames.adminKey
  properties: {
    value: adminKey
  }
}

resource stripeApiKeyValue 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(stripeApiKey)) {
  parent: vault
  name: keyVaultSecretNames.stripeApiKey
  properties: {
    value: stripeApiKey
  }
}

resource stripeWebhookSecretValue 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = if (!empty(stripeWebhookSecret)) {
  parent: vault
  name: keyVaultSecretNames.stripeWebhookSecret
  properties: {
    value: stripeWebhookSecret
  }
}

// Key Vault Secrets User: read secret values, which is what resolving a Key Vault reference needs.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityPrincipalId, '4633458b-17de-408a-b874-0445c86b69e6')
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault Secrets Officer for the operator: read the admin key, rotate Stripe secrets.
resource operatorSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7')
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

output name string = vault.name
