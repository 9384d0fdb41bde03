// One storage account for everything the service keeps in blobs, queues and tables: the deployment package
// (Flex Consumption runs from it), the models, batch input/output files, and the Functions host's own state
// (AzureWebJobsStorage, which also holds the Durable Task hub's queues and tables). Shared keys are disabled:
// the app, the platform and operators all authenticate with Microsoft Entra identities.

@description('Storage account name (3-24 lower-case letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Replication: Standard_LRS is enough for re-creatable content; use ZRS for production state.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param skuName string

@description('Container the Flex Consumption deployment package is uploaded to.')
param deploymentContainerName string

@description('Container the models are uploaded to (ModelStorage:Container).')
param modelsContainerName string

@description('Container for batch job input and output files.')
param batchContainerName string

@description('Principal id of the Function App identity.')
param identityPrincipalId string

@description('Optional principal (user or group) that uploads models from a workstation; empty for none.')
param operatorPrincipalId string

@description('Type of operatorPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: storage
  name: 'default'
  properties: {
    // A deleted model or batch result can be restored for a week; short, because models are gigabytes.
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource modelsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: modelsContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource batchContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: batchContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Storage Blob Data Owner: the Functions host manages blob leases and containers of AzureWebJobsStorage
// (Owner is what the host documents for identity-based AzureWebJobsStorage); the app reads models and writes batch files.
resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityPrincipalId, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Queue Data Contributor: Durable Task control and work-item queues.
resource queueDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityPrincipalId, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Table Data Contributor: Durable Task history and instance tables.
resource tableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identityPrincipalId, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Storage Blob Data Contributor for the operator, limited to the models container: `models upload` by identity.
resource operatorModelsContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(modelsContainer.id, operatorPrincipalId, 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
  scope: modelsContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'ba92f5b4-2d11-453d-a403-e96b0029c9fe')
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

output name string = storage.name
output blobServiceUri string = storage.properties.primaryEndpoints.blob
