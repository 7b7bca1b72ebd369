import Testing
@Test func placeholderLearningTests() { #expect(Bool(true)) }
